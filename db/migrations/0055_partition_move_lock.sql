-- 0055: lp.create_month_partition (api.maintain_partitions) lost rows: it copied a month's rows out of the
-- default partition with INSERT ... SELECT (one snapshot), then locked the default partition (DISABLE TRIGGER,
-- which waits for the inserts in flight) and deleted the month there on a newer snapshot, so a row committed in
-- between was deleted but never copied: a ledger entry or an audit row gone. Now the default partition is locked
-- (ACCESS EXCLUSIVE, which ATTACH PARTITION takes anyway; held to the end of the transaction) before it is read,
-- and the rows move in one statement (DELETE ... RETURNING feeding the INSERT); ATTACH PARTITION's check of the
-- default partition then finds none of the month left. docs/ledger.md, "Partitions". (api.archive_detach's own
-- race is fixed in its repeatable definition, db/functions.)
SET ROLE livepanty_owner;

CREATE OR REPLACE FUNCTION lp.create_month_partition(p_parent regclass, p_month timestamptz,
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

RESET ROLE;
