-- Monthly range partitions of the append-only history tables (lp.ledger by created_at, lp.audit_logs by
-- occurred_at): native declarative partitioning, kept by our own job (api.maintain_partitions; docs/ledger.md,
-- "Partitions"). The partitions live in their own schema, on which no role but the owner has USAGE: a
-- partition is reached through its parent (whose policies and grants decide), never directly.
CREATE SCHEMA lp_partitions AUTHORIZATION livepanty_owner;
COMMENT ON SCHEMA lp_partitions IS 'Monthly partitions of lp.ledger and lp.audit_logs (and their default partitions). No USAGE for any role but the owner: read and write them through their parent tables.';

SET ROLE livepanty_owner;

CREATE FUNCTION lp.secure_partition(p_partition regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_parent name;
BEGIN
    -- PostgreSQL applies a partitioned table's policies and grants only to statements that name the parent,
    -- and clones its row triggers to every partition but not its statement triggers (TRUNCATE). So each
    -- partition gets its own: row level security forced with an owner-only policy (a role that reached it
    -- directly would see and write nothing), no privilege for any role, and the no-truncate trigger.
    SELECT p.relname INTO v_parent
      FROM pg_catalog.pg_inherits AS i JOIN pg_catalog.pg_class AS p ON p.oid = i.inhparent
     WHERE i.inhrelid = p_partition;
    IF v_parent IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = format('%s is not a partition', p_partition);
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_partition);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p_partition);
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', p_partition);
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy AS p WHERE p.polrelid = p_partition) THEN
        EXECUTE format('CREATE POLICY "owner code only" ON %s FOR ALL TO livepanty_owner USING (true) WITH CHECK (true)',
                       p_partition);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger AS t
                    WHERE t.tgrelid = p_partition AND t.tgname = v_parent || '_no_truncate') THEN
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation()',
                       v_parent || '_no_truncate', p_partition);
    END IF;
END
$$;
COMMENT ON FUNCTION lp.secure_partition(regclass) IS 'Owner only: makes a partition of lp.ledger or lp.audit_logs as safe to reach directly as through its parent: row level security enabled and forced with an owner-only policy, no privilege for PUBLIC, the parent''s no-truncate statement trigger (row triggers are cloned by PostgreSQL).';
REVOKE ALL ON FUNCTION lp.secure_partition(regclass) FROM PUBLIC;

CREATE FUNCTION lp.create_month_partition(p_parent regclass, p_month timestamptz,
                                          OUT partition_name text, OUT created boolean, OUT moved bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_table   name;
    v_key     name;
    v_default regclass;
    v_from    timestamptz := date_trunc('month', p_month, 'UTC');
    v_to      timestamptz := date_trunc('month', p_month, 'UTC') + interval '1 month';
    v_new     regclass;
    v_waiting boolean;
BEGIN
    -- The partition of p_parent for the UTC month holding p_month: created unless it exists. Rows of that
    -- month waiting in the default partition are moved into it first (same ids, id order): the default
    -- partition catches what arrives before its month's partition exists, and is emptied here.
    SELECT c.relname, a.attname, pt.partdefid::regclass INTO v_table, v_key, v_default
      FROM pg_catalog.pg_partitioned_table AS pt
      JOIN pg_catalog.pg_class AS c ON c.oid = pt.partrelid
      JOIN pg_catalog.pg_attribute AS a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
     WHERE pt.partrelid = p_parent AND pt.partstrat = 'r';
    IF v_table IS NULL OR p_month IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = format('%s is not a range-partitioned table', p_parent);
    END IF;
    partition_name := format('lp_partitions.%I', v_table || '_' || to_char(v_from AT TIME ZONE 'UTC', 'YYYY_MM'));
    created := false;
    moved := 0;
    IF to_regclass(partition_name) IS NOT NULL THEN
        RETURN;
    END IF;
    IF v_default IS NOT NULL THEN
        -- No writer reaches the default partition from here to the end of the transaction: the lock waits for the
        -- inserts in flight, so the rows of the month read below (each statement a new snapshot, taken after the
        -- lock) are all there will be, and ATTACH PARTITION's scan of the default partition for rows of the new
        -- range (on a new snapshot) finds none. ACCESS EXCLUSIVE is what ATTACH takes on it anyway, taken first:
        -- after a weaker one (SHARE ROW EXCLUSIVE) ATTACH's upgrade would deadlock with a transaction that read
        -- the table and then inserts a row of a month without its partition (a late job). Readers of the
        -- default partition wait for the move, as they wait for ATTACH. An insert routed to the default
        -- partition meanwhile waits, then fails its partition check (23514: the month has its partition now)
        -- and commits nothing; retried, it lands in the new partition. Under REPEATABLE READ a row committed
        -- after the transaction's snapshot but before the lock is not moved: ATTACH refuses (23514), the run
        -- changes nothing. Read first and locked after (the old code), a row committed in between was deleted
        -- but never copied.
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', v_default);
    END IF;
    EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name, p_parent);
    v_new := partition_name::regclass;
    IF v_default IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT FROM %s WHERE %I >= $1 AND %I < $2)', v_default, v_key, v_key)
           INTO v_waiting USING v_from, v_to;
        IF v_waiting THEN
            -- The only DELETE the append-only triggers let through, and one statement: every row deleted is a
            -- row inserted into the partition attached below, and no other (whatever the snapshot).
            EXECUTE format('ALTER TABLE %s DISABLE TRIGGER USER', v_default);
            EXECUTE format('WITH m AS (DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING *) '
                           'INSERT INTO %s SELECT * FROM m ORDER BY 1',
                           v_default, v_key, v_key, v_new) USING v_from, v_to;
            GET DIAGNOSTICS moved = ROW_COUNT;
            EXECUTE format('ALTER TABLE %s ENABLE TRIGGER USER', v_default);
        END IF;
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)', p_parent, v_new, v_from, v_to);
    PERFORM lp.secure_partition(v_new);
    EXECUTE format('COMMENT ON TABLE %s IS %L', v_new,
                   format('%s entries of %s (UTC). Reach it through %s.', p_parent,
                          to_char(v_from AT TIME ZONE 'UTC', 'YYYY-MM'), p_parent));
    created := true;
END
$$;
COMMENT ON FUNCTION lp.create_month_partition(regclass, timestamptz) IS 'Owner only: creates the partition of lp.ledger or lp.audit_logs for the UTC month holding p_month (lp_partitions.<table>_YYYY_MM) unless it exists, moving that month''s rows out of the default partition into it (ids and order kept; one DELETE ... RETURNING feeding the INSERT, under an ACCESS EXCLUSIVE lock on the default partition taken before it is read and held to the end of the transaction, so a row committed meanwhile is moved, never lost or copied twice), and secures it (lp.secure_partition). Attached with ATTACH PARTITION (a SHARE UPDATE EXCLUSIVE lock on the parent: reads and writes of the other partitions go on; the default partition waits for the commit). Returns its name, whether it was created and how many rows moved.';
REVOKE ALL ON FUNCTION lp.create_month_partition(regclass, timestamptz) FROM PUBLIC;

RESET ROLE;

-- As the migrating superuser (row level security is forced on lp.locks).
INSERT INTO lp.locks (name, description) VALUES
    ('ledger.partitions', 'Taken by api.maintain_partitions (and the archive functions) so that one run at a time creates, attaches or detaches partitions of lp.ledger and lp.audit_logs.');
