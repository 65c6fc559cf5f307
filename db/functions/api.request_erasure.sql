CREATE FUNCTION api.request_erasure(p_reason text DEFAULT NULL) RETURNS lp.erasures
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_reason text := lp.check_text(p_reason, 'reason', 1000);
BEGIN
    -- The user's proof: their own session, opened by a login (their password) a few minutes ago. The back
    -- office acting in their name (api.act_as) has no session and cannot ask for it (an admin uses
    -- api.erase_user); an old or stolen long-lived session cannot either without logging in again, and no
    -- password is taken here, so this call is no password oracle next to api.login's counted attempts.
    PERFORM lp.require_recent_login(v_actor, 'erasure');
    RETURN lp.erase(v_actor, 'self', v_actor, v_reason);
END
$$;
COMMENT ON FUNCTION api.request_erasure(text) IS 'The right to erasure, asked by the user themself through a session opened by a login at most privacy.erasure_login_minutes ago (LP171 otherwise, and for the back office acting in their name): erases or pseudonymises their personal data, revokes their sessions and closes the account; returns the erasure log row, whose retained field tells which categories are kept, until when and why (financial records, identity verification, consent records). LP004 already erased or a staff account, LP170 money in flight.';
REVOKE ALL ON FUNCTION api.request_erasure(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.request_erasure(text) TO livepanty_app, livepanty_service;
