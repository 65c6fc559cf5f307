CREATE FUNCTION api.reset_password(
    p_token        text,
    p_new_password text,
    p_ip_address   inet DEFAULT NULL
) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_reset lp.password_reset_tokens;
    v_user  lp.users;
    v_count integer;
BEGIN
    IF p_token IS NULL OR char_length(p_token) <> 43 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP024', MESSAGE = 'invalid password reset token';
    END IF;
    -- The user row before the token, as every other writer of a user's tokens takes them (api.change_password,
    -- api.request_password_reset, api.delete_user): the token is found without a lock, its user locked, then
    -- the token locked and read again (a password change may have revoked it meanwhile).
    SELECT t.* INTO v_reset FROM lp.password_reset_tokens AS t WHERE t.token_hash = lp.hash_token(p_token);
    IF v_reset.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP024', MESSAGE = 'invalid password reset token';
    END IF;
    PERFORM 1 FROM lp.users AS u WHERE u.id = v_reset.user_id FOR NO KEY UPDATE;
    SELECT t.* INTO v_reset FROM lp.password_reset_tokens AS t WHERE t.id = v_reset.id FOR UPDATE;
    IF v_reset.used_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP026', MESSAGE = 'password reset token was already used';
    END IF;
    IF v_reset.revoked_at IS NOT NULL OR v_reset.expires_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP025', MESSAGE = 'password reset token has expired',
            HINT = 'Request a new one.';
    END IF;
    SELECT u.* INTO v_user FROM lp.users AS u WHERE u.id = v_reset.user_id AND u.deleted_at IS NULL FOR NO KEY UPDATE;
    IF v_user.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP024', MESSAGE = 'invalid password reset token';
    END IF;
    PERFORM lp.check_password_strength(p_new_password, v_user.username::text, v_user.email::text);
    IF v_user.password_hash = ext.crypt(p_new_password, v_user.password_hash) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP027', MESSAGE = 'the new password must differ from the current one';
    END IF;

    UPDATE lp.password_reset_tokens AS t SET used_at = now() WHERE t.id = v_reset.id;
    UPDATE lp.users AS u
       SET password_hash = lp.hash_password(p_new_password), password_changed_at = now(),
           failed_login_count = 0, locked_until = NULL
     WHERE u.id = v_user.id;
    v_count := lp.revoke_sessions(v_user.id, 'password_reset');
    PERFORM lp.audit('auth.password_reset', 'user', v_user.id::text,
                     jsonb_build_object('sessions_revoked', v_count), p_ip_address, v_user.id);
    RETURN v_user.id;
END
$$;
COMMENT ON FUNCTION api.reset_password(text, text, inet) IS 'Sets a new password with a reset token: LP024 unknown token, LP025 expired or superseded, LP026 already used, LP012 weak password, LP027 same as the current one. Clears any lockout and revokes every session; returns the user id.';
REVOKE ALL ON FUNCTION api.reset_password(text, text, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.reset_password(text, text, inet) TO livepanty_app, livepanty_service;
