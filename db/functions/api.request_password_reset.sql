CREATE FUNCTION api.request_password_reset(
    p_email      text,
    p_ip_address inet DEFAULT NULL
) RETURNS api.reset_request
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_email   ext.citext := lp.normalize_email(p_email);
    v_ttl     interval := make_interval(mins => (lp.setting('auth.reset_token_ttl_minutes'))::integer);
    v_user_id uuid;
    v_token   text;
    v_expires timestamptz;
BEGIN
    SELECT u.id INTO v_user_id FROM lp.users AS u WHERE u.email = v_email AND u.deleted_at IS NULL FOR UPDATE;
    IF v_user_id IS NULL THEN
        PERFORM lp.audit('auth.password_reset_request', NULL, NULL,
                         jsonb_build_object('known', false), p_ip_address, NULL);
        RETURN ROW(NULL, NULL)::api.reset_request;
    END IF;
    -- Only the newest token works.
    UPDATE lp.password_reset_tokens AS t SET revoked_at = now()
     WHERE t.user_id = v_user_id AND t.used_at IS NULL AND t.revoked_at IS NULL;
    v_token := lp.new_token();
    v_expires := now() + v_ttl;
    INSERT INTO lp.password_reset_tokens (user_id, token_hash, requested_ip, expires_at)
    VALUES (v_user_id, lp.hash_token(v_token), p_ip_address, v_expires);
    PERFORM lp.audit('auth.password_reset_request', 'user', v_user_id::text,
                     jsonb_build_object('known', true), p_ip_address, v_user_id);
    RETURN ROW(v_token, v_expires)::api.reset_request;
END
$$;
COMMENT ON FUNCTION api.request_password_reset(text, inet) IS 'Issues a single-use reset token (stored hashed, valid auth.reset_token_ttl_minutes) for an active account, revoking earlier ones. Returns a NULL token for an unknown address: the caller must answer the user the same way in both cases.';
REVOKE ALL ON FUNCTION api.request_password_reset(text, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.request_password_reset(text, inet) TO livepanty_app, livepanty_service;
