CREATE FUNCTION lp.require_recent_login(p_user_id uuid, p_what text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_session uuid := lp.current_session_id();
    v_minutes integer := (lp.setting('privacy.erasure_login_minutes'))::integer;
BEGIN
    -- The user's proof that it is them: their own live session, opened by a login (their password) at most
    -- privacy.erasure_login_minutes ago. The back office acting in their name (api.act_as) has no session; an
    -- old or stolen long-lived session does not qualify until its holder logs in again. No password is taken,
    -- so the callers are no password oracle next to api.login's counted attempts.
    IF v_session IS NULL OR NOT EXISTS (
        SELECT 1 FROM lp.auth_sessions AS s
         WHERE s.id = v_session AND s.user_id = p_user_id AND s.revoked_at IS NULL
           AND s.created_at >= now() - make_interval(mins => v_minutes))
    THEN
        RAISE EXCEPTION USING ERRCODE = 'LP171', MESSAGE = format('%s needs a recent login', p_what),
            DETAIL = format('the session must be opened by a login at most %s minutes ago', v_minutes),
            HINT = 'Log in again (api.login) and ask through the new session.';
    END IF;
END
$$;
COMMENT ON FUNCTION lp.require_recent_login(uuid, text) IS 'Owner only: LP171 (p_what "needs a recent login") unless the acting session is a live session of p_user_id opened by a login at most privacy.erasure_login_minutes ago; so also for an identity without a session (the back office acting through api.act_as). The one rule of api.request_erasure and of api.delete_user of one''s own account (an admin''s included).';
REVOKE ALL ON FUNCTION lp.require_recent_login(uuid, text) FROM PUBLIC;
