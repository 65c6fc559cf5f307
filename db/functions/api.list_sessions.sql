CREATE FUNCTION api.list_sessions(
    p_user_id        uuid DEFAULT NULL,
    p_include_ended  boolean DEFAULT false
) RETURNS SETOF api.session_info
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_target uuid := coalesce(p_user_id, v_actor);
BEGIN
    IF v_target <> v_actor AND lp.current_user_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins may list another user''s sessions';
    END IF;
    RETURN QUERY
        SELECT s.id, s.user_id, s.ip_address, s.user_agent, s.device_info, s.created_at, s.last_seen_at,
               s.expires_at, s.revoked_at, s.revoke_reason,
               coalesce(s.id = lp.current_session_id(), false)
          FROM lp.auth_sessions AS s
         WHERE s.user_id = v_target
           AND (p_include_ended OR (s.revoked_at IS NULL AND s.expires_at > now()))
         ORDER BY s.created_at DESC, s.id;
END
$$;
COMMENT ON FUNCTION api.list_sessions(uuid, boolean) IS 'The acting user''s sessions (admins: any user''s), newest first; live ones only unless p_include_ended. Never the token.';
REVOKE ALL ON FUNCTION api.list_sessions(uuid, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_sessions(uuid, boolean) TO livepanty_app, livepanty_service;
