CREATE FUNCTION api.expire_holds(p_limit integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_ids uuid[];
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 100000';
    END IF;
    -- One batch of the oldest due holds nobody else is working on (SKIP LOCKED: concurrent runs of the job,
    -- and captures or releases in progress, take other rows). The expires_at range is the index condition,
    -- lp.hold_due the rule (a show's unsettled reservation is never due). lp.expire_due_holds closes them in
    -- wallet order.
    SELECT coalesce(array_agg(d.id), ARRAY[]::uuid[]) INTO v_ids
      FROM (SELECT h.id FROM lp.holds AS h
             WHERE h.status = 'open' AND h.expires_at <= pg_catalog.statement_timestamp() AND lp.hold_due(h)
             ORDER BY h.expires_at
             LIMIT p_limit
               FOR UPDATE SKIP LOCKED) AS d;
    RETURN lp.expire_due_holds(v_ids);
END
$$;
COMMENT ON FUNCTION api.expire_holds(integer) IS 'Back-office job: expires up to p_limit (1..100000) due holds (lp.hold_due: open past expires_at, not a show''s unsettled reservation), oldest first, skipping those another transaction holds; their remaining tokens return to the holders'' available balance. Returns how many were expired; call it again until it returns 0. LP018 bad limit.';
REVOKE ALL ON FUNCTION api.expire_holds(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.expire_holds(integer) TO livepanty_service;
