CREATE FUNCTION api.change_password(
    p_current_password text,
    p_new_password     text,
    p_ip_address       inet DEFAULT NULL
) RETURNS api.password_change_result
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor    uuid := lp.require_user();
    v_max_fail integer := (lp.setting('auth.max_failed_logins'))::integer;
    v_lock_for interval := make_interval(mins => (lp.setting('auth.lockout_minutes'))::integer);
    v_user     lp.users;
    v_count    integer;
    v_tokens   integer;
    v_old      uuid;
BEGIN
    IF p_current_password IS NULL OR p_current_password = '' OR octet_length(p_current_password) > 1024 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'current password is required';
    END IF;
    IF p_new_password IS NULL OR octet_length(p_new_password) > 1024 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP012', MESSAGE = 'new password is missing or too long';
    END IF;
    SELECT u.* INTO v_user FROM lp.users AS u WHERE u.id = v_actor FOR NO KEY UPDATE;
    -- The new password is judged before the current one is checked, so that these refusals say nothing about
    -- the current password: judged after it, a weak new password (LP012) or the same one twice (LP027) answered
    -- a right guess with an exception and a wrong one with LP020 in-band, an answer whoever holds a stolen
    -- session could read without the failed attempt counting (the transaction rolled back).
    PERFORM lp.check_password_strength(p_new_password, v_user.username::text, v_user.email::text);
    IF p_new_password = p_current_password THEN
        RAISE EXCEPTION USING ERRCODE = 'LP027', MESSAGE = 'the new password must differ from the current one';
    END IF;

    -- A wrong current password counts like a failed login (whoever holds a stolen session must not be
    -- able to guess freely): it is answered in-band so the counter and the audit record persist, and
    -- reaching the limit locks the account and ends every session, this one included.
    IF v_user.password_hash IS DISTINCT FROM ext.crypt(p_current_password, v_user.password_hash) THEN
        UPDATE lp.users AS u SET failed_login_count = u.failed_login_count + 1 WHERE u.id = v_actor
        RETURNING * INTO v_user;
        v_count := 0;
        IF v_user.failed_login_count >= v_max_fail THEN
            UPDATE lp.users AS u SET locked_until = now() + v_lock_for, failed_login_count = 0 WHERE u.id = v_actor;
            v_count := lp.revoke_sessions(v_actor, 'password_change');
            PERFORM lp.audit('auth.lockout', 'user', v_actor::text,
                             jsonb_build_object('minutes', extract(epoch FROM v_lock_for) / 60,
                                                'sessions_revoked', v_count), p_ip_address);
        END IF;
        PERFORM lp.audit('auth.password_change_failed', 'user', v_actor::text,
                         jsonb_build_object('reason', 'bad_password'), p_ip_address);
        RETURN ROW(false, 'LP020', v_count)::api.password_change_result;
    END IF;

    UPDATE lp.users AS u
       SET password_hash = lp.hash_password(p_new_password), password_changed_at = now(), failed_login_count = 0
     WHERE u.id = v_actor;
    v_count := lp.revoke_sessions(v_actor, 'password_change', lp.current_session_id());
    -- A reset token asked for before the change (by whoever read the mailbox then) must not undo it: the unused
    -- tokens are revoked (api.reset_password: LP025), and the reset e-mails not sent yet are superseded, their
    -- payload (the token) erased, as a newer request does (api.request_password_reset). Under the user row's
    -- lock, like the requests, so no request of this user runs in between.
    UPDATE lp.password_reset_tokens AS t SET revoked_at = now()
     WHERE t.user_id = v_actor AND t.used_at IS NULL AND t.revoked_at IS NULL;
    GET DIAGNOSTICS v_tokens = ROW_COUNT;
    FOR v_old IN
        UPDATE lp.outbox AS o SET status = 'superseded', payload = NULL, claimed_until = NULL
         WHERE o.user_id = v_actor AND o.kind = 'password_reset' AND o.status = 'queued'
        RETURNING o.id
    LOOP
        PERFORM lp.audit('outbox.superseded', 'message', v_old::text,
                         jsonb_build_object('kind', 'password_reset', 'user_id', v_actor), NULL, v_actor);
    END LOOP;
    PERFORM lp.audit('auth.password_change', 'user', v_actor::text,
                     jsonb_build_object('sessions_revoked', v_count, 'reset_tokens_revoked', v_tokens), p_ip_address);
    RETURN ROW(true, NULL, v_count)::api.password_change_result;
END
$$;
COMMENT ON FUNCTION api.change_password(text, text, inet) IS 'Changes the acting user''s password and revokes every other session, every unused password reset token and every reset e-mail not sent yet (superseded, payload erased). A wrong current password is answered in-band (success false, LP020), counted like a failed login and audited; at auth.max_failed_logins the account locks and all its sessions end. Raises LP012 (weak new password), LP027 (unchanged), LP018 (missing current password); LP012 and LP027 are judged before the current password is checked, so they say nothing about it and count nothing.';
REVOKE ALL ON FUNCTION api.change_password(text, text, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.change_password(text, text, inet) TO livepanty_app, livepanty_service;
