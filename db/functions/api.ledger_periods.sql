CREATE FUNCTION api.ledger_periods(p_chunk_entries integer DEFAULT 500000)
RETURNS TABLE (period integer, period_from timestamptz, period_to timestamptz, approx_entries bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_min  bigint;
    v_max  bigint;
    v_cuts timestamptz[] := '{}'::timestamptz[];
    v_ids  bigint[] := '{}'::bigint[];
    v_at   timestamptz;
    v_id   bigint;
    v_step bigint;
BEGIN
    PERFORM lp.verify_authorize();
    IF p_chunk_entries IS NULL OR p_chunk_entries < 1 OR p_chunk_entries > 100000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'period size must be between 1 and 100000000 entries';
    END IF;
    -- Entry ids come from one identity in about the order of their times (created_at is the time the posting
    -- transaction started, so a long transaction may write a later id with an earlier time): the time of the
    -- entry at every p_chunk_entries-th id is a cut, each found by one probe of the primary key. The periods
    -- between the sorted cuts are contiguous and open at both ends (the first starts at NULL, the last ends at
    -- NULL), so they cover every entry whatever the ids; approx_entries (id distance) only sizes the
    -- progress bar.
    SELECT min(l.id), max(l.id) INTO v_min, v_max FROM lp.ledger AS l;
    IF v_min IS NOT NULL THEN
        v_step := v_min + p_chunk_entries;
        WHILE v_step <= v_max LOOP
            SELECT l.created_at, l.id INTO v_at, v_id FROM lp.ledger AS l WHERE l.id >= v_step ORDER BY l.id LIMIT 1;
            v_cuts := v_cuts || v_at;
            v_ids := v_ids || v_id;
            v_step := v_id + p_chunk_entries;
        END LOOP;
    END IF;
    RETURN QUERY
    WITH cuts AS (
        SELECT DISTINCT ON (c.at) c.at, c.id FROM unnest(v_cuts, v_ids) AS c (at, id) ORDER BY c.at, c.id
    ), bounds AS (
        SELECT NULL::timestamptz AS lo, coalesce(v_min, 0) AS lo_id
        UNION ALL
        SELECT c.at, c.id FROM cuts AS c
    )
    SELECT (row_number() OVER (ORDER BY b.lo NULLS FIRST))::integer, b.lo,
           lead(b.lo) OVER (ORDER BY b.lo NULLS FIRST),
           CASE WHEN v_min IS NULL THEN 0
                ELSE greatest(coalesce(lead(b.lo_id) OVER (ORDER BY b.lo NULLS FIRST), v_max + 1) - b.lo_id, 0) END
      FROM bounds AS b
     ORDER BY b.lo NULLS FIRST;
END
$$;
COMMENT ON FUNCTION api.ledger_periods(integer) IS 'Plan of the transaction pass of a chunked ledger verification: periods of about p_chunk_entries ledger entries (1..100000000, LP018) in time order, contiguous and open at both ends (the first period_from and the last period_to are NULL), so together they cover every entry, tip and capture; approx_entries estimates each period''s entries (for a progress bar). Check each with api.verify_ledger_period(period_from, period_to); with the account chunks of api.ledger_stats (api.verify_ledger(..., p_transactions => false)) that is a whole verification (docs/ledger.md, "Verification"). The livepanty_service role, or an acting admin (LP001 / LP002 otherwise).';
REVOKE ALL ON FUNCTION api.ledger_periods(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.ledger_periods(integer) TO livepanty_app, livepanty_service;
