CREATE FUNCTION api.change_password(
    p_current_password text,
    p_new_password     text,
    p_ip_address       inet DEFAULT NULL
) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor uuid := lp.require_user();
    v_user  lp.users;
    v_count integer;
BEGIN
    IF p_current_password IS NULL OR p_current_password = '' OR octet_length(p_current_password) > 1024 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'current password is required';
    END IF;
    SELECT u.* INTO v_user FROM lp.users AS u WHERE u.id = v_actor FOR UPDATE;
    IF v_user.password_hash IS DISTINCT FROM ext.crypt(p_current_password, v_user.password_hash) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP020', MESSAGE = 'current password is wrong';
    END IF;
    PERFORM lp.check_password_strength(p_new_password, v_user.username::text, v_user.email::text);
    IF p_new_password = p_current_password THEN
        RAISE EXCEPTION USING ERRCODE = 'LP027', MESSAGE = 'the new password must differ from the current one';
    END IF;
    UPDATE lp.users AS u SET password_hash = lp.hash_password(p_new_password), password_changed_at = now()
     WHERE u.id = v_actor;
    v_count := lp.revoke_sessions(v_actor, 'password_change', nullif(current_setting('lp.session_id', true), '')::uuid);
    PERFORM lp.audit('auth.password_change', 'user', v_actor::text,
                     jsonb_build_object('sessions_revoked', v_count), p_ip_address);
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION api.change_password(text, text, inet) IS 'Changes the acting user''s password after checking the current one (LP020) and the strength rules (LP012, LP027); revokes every other session and returns how many.';
REVOKE ALL ON FUNCTION api.change_password(text, text, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.change_password(text, text, inet) TO livepanty_app, livepanty_service;
