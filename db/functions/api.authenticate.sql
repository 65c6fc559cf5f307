CREATE FUNCTION api.authenticate(p_token text) RETURNS api.authenticated
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET plan_cache_mode = force_generic_plan
AS $$
-- force_generic_plan (here and in what it calls): every statement planned once per session; with the
-- default, statements whose custom plan looked cheaper (a NULL stream, a constant to fold) were planned
-- again on every call (docs/benchmarks.md, "Money core v2").
DECLARE
    v_session lp.auth_sessions;
    v_role    text;
BEGIN
    IF p_token IS NULL OR char_length(p_token) <> 43 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP023', MESSAGE = 'invalid or expired session';
    END IF;
    SELECT s.* INTO v_session FROM lp.auth_sessions AS s WHERE s.token_hash = lp.hash_token(p_token);
    SELECT u.role::text INTO v_role FROM lp.users AS u WHERE u.id = v_session.user_id AND u.deleted_at IS NULL;
    IF v_session.id IS NULL OR v_session.revoked_at IS NOT NULL OR v_session.expires_at <= now()
       OR v_role IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP023', MESSAGE = 'invalid or expired session',
            HINT = 'Log in again.';
    END IF;
    PERFORM lp.assert_sanction_allows(v_session.user_id, 'login');  -- LP022 suspension or ban
    IF v_session.last_seen_at < now() - interval '1 minute' THEN
        UPDATE lp.auth_sessions AS s SET last_seen_at = now() WHERE s.id = v_session.id;
    END IF;
    PERFORM lp.set_identity(v_session.user_id, v_session.id, 'session');
    RETURN ROW(v_session.user_id, v_session.id, v_role, v_session.expires_at)::api.authenticated;
END
$$;
COMMENT ON FUNCTION api.authenticate(text) IS 'Validates a session token and makes its user the proven acting user for the rest of the transaction (lp.set_identity: lp.user_id, lp.session_id and their proof). LP023 for an unknown, revoked or expired token; LP022 for a sanctioned user.';
REVOKE ALL ON FUNCTION api.authenticate(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.authenticate(text) TO livepanty_app, livepanty_service;
