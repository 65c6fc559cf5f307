-- Undo 0055_partition_move_lock: lp.create_month_partition as migration 0033 made it (copy, then lock and delete).
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
    EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name, p_parent);
    v_new := partition_name::regclass;
    IF v_default IS NOT NULL THEN
        EXECUTE format('INSERT INTO %s SELECT * FROM %s WHERE %I >= $1 AND %I < $2 ORDER BY 1',
                       v_new, v_default, v_key, v_key) USING v_from, v_to;
        GET DIAGNOSTICS moved = ROW_COUNT;
        IF moved > 0 THEN
            -- The only DELETE the append-only triggers let through: the rows were just copied, in this
            -- transaction, into the partition attached below.
            EXECUTE format('ALTER TABLE %s DISABLE TRIGGER USER', v_default);
            EXECUTE format('DELETE FROM %s WHERE %I >= $1 AND %I < $2', v_default, v_key, v_key) USING v_from, v_to;
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
COMMENT ON FUNCTION lp.create_month_partition(regclass, timestamptz) IS 'Owner only: creates the partition of lp.ledger or lp.audit_logs for the UTC month holding p_month (lp_partitions.<table>_YYYY_MM) unless it exists, moving that month''s rows out of the default partition into it (ids and order kept), and secures it (lp.secure_partition). Attached with ATTACH PARTITION (a SHARE UPDATE EXCLUSIVE lock on the parent: reads and writes go on). Returns its name, whether it was created and how many rows moved.';

RESET ROLE;
