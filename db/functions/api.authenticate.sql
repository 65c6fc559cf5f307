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
    c         record;
BEGIN
    IF p_token IS NULL OR char_length(p_token) <> 43 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP023', MESSAGE = 'invalid or expired session';
    END IF;
    -- One read: the session, its user's role, and whether the user has any unrevoked sanction at all.
    SELECT s AS session, u.role::text AS role,
           EXISTS (SELECT 1 FROM lp.user_sanctions AS us WHERE us.user_id = s.user_id AND us.revoked_at IS NULL)
               AS sanctioned
      INTO c
      FROM lp.auth_sessions AS s
      LEFT JOIN lp.users AS u ON u.id = s.user_id AND u.deleted_at IS NULL
     WHERE s.token_hash = lp.hash_token(p_token);
    v_session := c.session;
    v_role := c.role;
    IF v_session.id IS NULL OR v_session.revoked_at IS NOT NULL OR v_session.expires_at <= now()
       OR v_role IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP023', MESSAGE = 'invalid or expired session',
            HINT = 'Log in again.';
    END IF;
    IF c.sanctioned THEN
        -- Only a user with an unrevoked sanction can be refused (lp.sanction_refusal's rule decides)
        PERFORM lp.assert_sanction_allows(v_session.user_id, 'login');  -- LP022 suspension or ban
    END IF;
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
