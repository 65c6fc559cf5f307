CREATE FUNCTION api.request_password_reset(
    p_email      text,
    p_ip_address inet DEFAULT NULL
) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    -- Every setting is read before the address is looked up: a known and an unknown address fail alike.
    v_email    ext.citext := lp.normalize_email(p_email);
    v_ttl      interval := make_interval(mins => (lp.setting('auth.reset_token_ttl_minutes'))::integer);
    v_interval interval := make_interval(secs => (lp.setting('auth.reset_request_interval_seconds'))::integer);
    v_user     lp.users;
    v_token    text;
    v_expires  timestamptz;
    v_message  uuid;
    v_old      uuid;
BEGIN
    SELECT u.* INTO v_user FROM lp.users AS u WHERE u.email = v_email AND u.deleted_at IS NULL FOR NO KEY UPDATE;
    IF v_user.id IS NULL THEN
        PERFORM lp.audit('auth.password_reset_request', NULL, NULL,
                         jsonb_build_object('known', false), p_ip_address, NULL);
        RETURN;
    END IF;
    -- Throttle: at most one reset e-mail per user per interval. The user row lock above serialises the requests
    -- of one user, so two of them cannot both pass this check.
    IF EXISTS (SELECT 1 FROM lp.outbox AS o
                WHERE o.user_id = v_user.id AND o.kind = 'password_reset' AND o.created_at > now() - v_interval) THEN
        PERFORM lp.audit('auth.password_reset_request', 'user', v_user.id::text,
                         jsonb_build_object('known', true, 'throttled', true), p_ip_address, v_user.id);
        RETURN;
    END IF;
    -- Only the newest token works, and only the newest e-mail goes out: earlier unsent ones lose their token.
    UPDATE lp.password_reset_tokens AS t SET revoked_at = now()
     WHERE t.user_id = v_user.id AND t.used_at IS NULL AND t.revoked_at IS NULL;
    FOR v_old IN
        UPDATE lp.outbox AS o SET status = 'superseded', payload = NULL, claimed_until = NULL
         WHERE o.user_id = v_user.id AND o.kind = 'password_reset' AND o.status = 'queued'
        RETURNING o.id
    LOOP
        PERFORM lp.audit('outbox.superseded', 'message', v_old::text,
                         jsonb_build_object('kind', 'password_reset', 'user_id', v_user.id), NULL, v_user.id);
    END LOOP;
    v_token := lp.new_token();
    v_expires := now() + v_ttl;
    INSERT INTO lp.password_reset_tokens (user_id, token_hash, requested_ip, expires_at)
    VALUES (v_user.id, lp.hash_token(v_token), p_ip_address, v_expires);
    -- The token leaves this function only inside the message, which only the mailer can claim.
    INSERT INTO lp.outbox (kind, user_id, email, payload, expires_at)
    VALUES ('password_reset', v_user.id, v_user.email::text,
            jsonb_build_object('token', v_token, 'expires_at', v_expires, 'username', v_user.username::text,
                               'display_name', v_user.display_name,
                               'language', (SELECT p.language FROM lp.user_preferences AS p WHERE p.user_id = v_user.id)),
            v_expires)
    RETURNING id INTO v_message;
    PERFORM lp.audit('auth.password_reset_request', 'user', v_user.id::text,
                     jsonb_build_object('known', true, 'throttled', false), p_ip_address, v_user.id);
    PERFORM lp.audit('outbox.enqueue', 'message', v_message::text,
                     jsonb_build_object('kind', 'password_reset', 'user_id', v_user.id), NULL, v_user.id);
END
$$;
COMMENT ON FUNCTION api.request_password_reset(text, inet) IS 'Queues a password reset e-mail for an active account: a single-use token (stored hashed, valid auth.reset_token_ttl_minutes) that replaces earlier tokens and unsent reset e-mails, in a message only the mailer can claim. Returns nothing, the same for a known, an unknown or a throttled address (at most one e-mail per user per auth.reset_request_interval_seconds). Audited.';
REVOKE ALL ON FUNCTION api.request_password_reset(text, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.request_password_reset(text, inet) TO livepanty_app, livepanty_service;
