CREATE FUNCTION api.my_case_decisions(p_limit integer DEFAULT 50)
    RETURNS TABLE (
        case_id     uuid,
        target_type text,
        reason      text,
        status      text,
        action      text,
        automated   boolean,
        facts       text,
        rule        text,
        appeal      text,
        sanction_id uuid,
        decided_at  timestamptz
    )
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_me uuid := lp.require_user();
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 500 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 500';
    END IF;
    -- The statement of reasons of every decision about the caller (resolved cases and automated actions
    -- pending review). Never who reported: no reporter column, count or description is returned.
    RETURN QUERY
    SELECT r.id, r.target_type::text, r.reason::text, r.status::text, r.decision ->> 'action',
           (r.decision ->> 'automated')::boolean, r.decision ->> 'facts', r.decision ->> 'rule',
           r.decision ->> 'appeal', r.sanction_id, (r.decision ->> 'decided_at')::timestamptz
      FROM lp.reports AS r
     WHERE r.reported_user_id = v_me AND r.decision IS NOT NULL
     ORDER BY (r.decision ->> 'decided_at')::timestamptz DESC, r.id
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.my_case_decisions(integer) IS 'Any user: the decisions taken about them in review cases (newest first, at most p_limit 1..500): action, whether automated, the facts, the rule broken, how to appeal, the sanction. Never the reporters'' identity. LP018 bad p_limit.';
REVOKE ALL ON FUNCTION api.my_case_decisions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.my_case_decisions(integer) TO livepanty_app, livepanty_service;
