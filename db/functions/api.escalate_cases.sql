CREATE FUNCTION api.escalate_cases(p_limit integer DEFAULT 100) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_hours integer := (lp.setting('review.escalate_hours'))::integer;
    v_case  lp.reports;
    v_count integer := 0;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 10000';
    END IF;
    -- SLA: a case not closed whose due time is less than review.escalate_hours away (or past) escalates once:
    -- escalated_at set, an unclaimed case shows as escalated, and its priority is at least high.
    FOR v_case IN
        SELECT r.* FROM lp.reports AS r
         WHERE r.status IN ('open', 'in_review') AND r.escalated_at IS NULL
           AND r.due_at <= now() + make_interval(hours => v_hours)
         ORDER BY r.due_at, r.id
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    LOOP
        UPDATE lp.reports AS r
           SET escalated_at = now(),
               status = CASE WHEN r.status = 'open' THEN 'escalated' ELSE r.status END
         WHERE r.id = v_case.id;
        v_case := lp.rescore_case(v_case.id);
        PERFORM lp.audit('case.escalate', 'report', v_case.id::text,
                         jsonb_build_object('due_at', v_case.due_at, 'overdue', v_case.due_at < now(),
                                            'priority', v_case.priority),
                         p_actor_id => NULL);
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION api.escalate_cases(integer) IS 'Back office job (livepanty-db reports escalate; any number of workers): escalates up to p_limit cases not closed whose due time is less than review.escalate_hours away or past, once each: escalated_at set, an unclaimed case becomes escalated, priority at least high. Returns how many. LP018 p_limit outside 1..10000. Audited (case.escalate).';
REVOKE ALL ON FUNCTION api.escalate_cases(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.escalate_cases(integer) TO livepanty_service;
