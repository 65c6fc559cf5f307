CREATE FUNCTION api.maintain_partitions(p_months_ahead integer DEFAULT 3)
RETURNS TABLE (table_name text, partition_name text, range_from timestamptz, range_to timestamptz, moved bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_parent  regclass;
    v_default regclass;
    v_key     name;
    v_month   timestamptz;
    v_months  timestamptz[];
    v_made    record;
BEGIN
    IF p_months_ahead IS NULL OR p_months_ahead < 0 OR p_months_ahead > 24 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'months_ahead must be between 0 and 24';
    END IF;
    -- One run at a time: a second one waits here, then finds the partitions made and does nothing.
    PERFORM 1 FROM lp.locks AS k WHERE k.name = 'ledger.partitions' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'lp.locks row ledger.partitions is missing';
    END IF;
    FOREACH v_parent IN ARRAY ARRAY['lp.ledger'::regclass, 'lp.audit_logs'::regclass] LOOP
        SELECT pt.partdefid::regclass, a.attname INTO v_default, v_key
          FROM pg_catalog.pg_partitioned_table AS pt
          JOIN pg_catalog.pg_attribute AS a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
         WHERE pt.partrelid = v_parent;
        -- This month and the next p_months_ahead, and every month with rows waiting in the default partition
        -- (they move into their partition). Collected first: no cursor stays open on the default partition
        -- while rows move out of it.
        EXECUTE format($q$SELECT array_agg(x.m ORDER BY x.m) FROM (
                              SELECT m FROM generate_series(date_trunc('month', now(), 'UTC'),
                                                          date_trunc('month', now(), 'UTC') + make_interval(months => $1),
                                                          interval '1 month') AS m
                              UNION
                              SELECT DISTINCT date_trunc('month', d.%I, 'UTC') FROM %s AS d) AS x (m)$q$,
                       v_key, v_default) INTO v_months USING p_months_ahead;
        FOREACH v_month IN ARRAY v_months LOOP
            SELECT * INTO v_made FROM lp.create_month_partition(v_parent, v_month);
            IF v_made.created THEN
                table_name := v_parent::text;
                partition_name := v_made.partition_name;
                range_from := v_month;
                range_to := v_month + interval '1 month';
                moved := v_made.moved;
                PERFORM lp.audit('partitions.create', 'partition', v_made.partition_name,
                                 jsonb_build_object('table', v_parent::text, 'from', range_from, 'to', range_to,
                                                    'moved_from_default', moved));
                RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION api.maintain_partitions(integer) IS 'Back-office job (livepanty_service): creates the monthly partitions of lp.ledger and lp.audit_logs for this month and the next p_months_ahead (0..24, LP018), and for every month that has rows waiting in a default partition (moved into their partition, ids and order kept). Idempotent (an existing partition is left alone) and safe in parallel (runs serialise on the lp.locks row ledger.partitions; a second run then finds nothing to do). Audited per partition made (partitions.create). Returns one row per partition made: table, partition, its UTC month range and how many rows moved into it from the default partition. Run it daily.';
REVOKE ALL ON FUNCTION api.maintain_partitions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.maintain_partitions(integer) TO livepanty_service;
