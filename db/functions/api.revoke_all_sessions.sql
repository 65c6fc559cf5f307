CREATE FUNCTION api.revoke_all_sessions(
    p_user_id      uuid DEFAULT NULL,
    p_keep_current boolean DEFAULT false
) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_target uuid := coalesce(p_user_id, v_actor);
    v_count  integer;
BEGIN
    IF v_target <> v_actor AND lp.current_user_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins may revoke another user''s sessions';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = v_target) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    v_count := lp.revoke_sessions(
        v_target,
        CASE WHEN v_target = v_actor THEN 'logout_all' ELSE 'admin' END,
        CASE WHEN p_keep_current THEN lp.current_session_id() END);
    PERFORM lp.audit('auth.session_revoke_all', 'user', v_target::text,
                     jsonb_build_object('revoked', v_count, 'kept_current', p_keep_current));
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION api.revoke_all_sessions(uuid, boolean) IS 'Revokes every live session of the acting user (admins: of any user), optionally keeping the current one; returns how many were revoked.';
REVOKE ALL ON FUNCTION api.revoke_all_sessions(uuid, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.revoke_all_sessions(uuid, boolean) TO livepanty_app, livepanty_service;
