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
    -- The statement of reasons of every decision about the caller (lp.case_decisions_of): never who reported.
    RETURN QUERY SELECT * FROM lp.case_decisions_of(v_me, p_limit);
END
$$;
COMMENT ON FUNCTION api.my_case_decisions(integer) IS 'Any user: the decisions taken about them in review cases (newest first, at most p_limit 1..500): action, whether automated, the facts, the rule broken, how to appeal, the sanction. Never the reporters'' identity. LP018 bad p_limit.';
REVOKE ALL ON FUNCTION api.my_case_decisions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.my_case_decisions(integer) TO livepanty_app, livepanty_service;
