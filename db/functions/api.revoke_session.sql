CREATE FUNCTION api.revoke_session(p_session_id uuid DEFAULT NULL) RETURNS api.session_info
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor   uuid := lp.require_user();
    v_id      uuid := coalesce(p_session_id, lp.current_session_id());
    v_session lp.auth_sessions;
BEGIN
    IF v_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'session id is required',
            HINT = 'Pass p_session_id, or call api.authenticate first to log out of the current session.';
    END IF;
    SELECT s.* INTO v_session FROM lp.auth_sessions AS s WHERE s.id = v_id FOR UPDATE;
    -- Another user's session looks exactly like a missing one unless the actor is an admin.
    IF v_session.id IS NULL OR (v_session.user_id <> v_actor AND lp.current_user_role() IS DISTINCT FROM 'admin') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'session not found';
    END IF;
    IF v_session.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'session is already revoked';
    END IF;
    UPDATE lp.auth_sessions AS s
       SET revoked_at = now(), revoke_reason = CASE WHEN v_session.user_id = v_actor THEN 'logout' ELSE 'admin' END
     WHERE s.id = v_id
    RETURNING * INTO v_session;
    PERFORM lp.audit('auth.session_revoke', 'session', v_id::text,
                     jsonb_build_object('user_id', v_session.user_id, 'reason', v_session.revoke_reason));
    RETURN ROW(v_session.id, v_session.user_id, v_session.ip_address, v_session.user_agent, v_session.device_info,
               v_session.created_at, v_session.last_seen_at, v_session.expires_at, v_session.revoked_at,
               v_session.revoke_reason,
               coalesce(v_session.id = lp.current_session_id(), false))::api.session_info;
END
$$;
COMMENT ON FUNCTION api.revoke_session(uuid) IS 'Revokes one session (default: the current one, i.e. log out). Owners revoke their own, admins anyone''s; LP003 if not found or not visible, LP004 if already revoked.';
REVOKE ALL ON FUNCTION api.revoke_session(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.revoke_session(uuid) TO livepanty_app, livepanty_service;
