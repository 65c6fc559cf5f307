CREATE FUNCTION api.login(
    p_login       text,
    p_password    text,
    p_ip_address  inet DEFAULT NULL,
    p_user_agent  text DEFAULT NULL,
    p_device_info jsonb DEFAULT '{}',
    p_ttl         interval DEFAULT NULL
) RETURNS api.login_result
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_login      text := btrim(p_login);
    v_agent      text := lp.check_text(p_user_agent, 'user_agent', 512);
    v_max_ttl    interval := make_interval(hours => (lp.setting('auth.session_ttl_hours'))::integer);
    v_max_fail   integer := (lp.setting('auth.max_failed_logins'))::integer;
    v_lock_for   interval := make_interval(mins => (lp.setting('auth.lockout_minutes'))::integer);
    v_cost       integer := (lp.setting('auth.bcrypt_cost'))::integer;
    v_old_cost   integer;
    v_new_cost   integer;
    v_user       lp.users;
    v_sanction   lp.user_sanctions;
    v_token      text;
    v_session_id uuid;
    v_expires_at timestamptz;
BEGIN
    -- Malformed calls are rejected outright and change nothing.
    IF v_login IS NULL OR v_login = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'login is required';
    END IF;
    IF char_length(v_login) > 254 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'login is too long';
    END IF;
    IF p_password IS NULL OR p_password = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'password is required';
    END IF;
    IF octet_length(p_password) > 1024 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'password is too long';
    END IF;
    IF p_device_info IS NOT NULL AND jsonb_typeof(p_device_info) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'device_info must be a JSON object';
    END IF;
    -- Stored with the session: bounded like the other free-form arguments (at most 4 KiB as JSON text).
    IF octet_length(p_device_info::text) > 4096 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'device_info is too large',
            DETAIL = format('%s bytes as JSON text; at most 4096 allowed', octet_length(p_device_info::text));
    END IF;
    IF p_ttl IS NOT NULL AND (p_ttl < interval '5 minutes' OR p_ttl > v_max_ttl) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'session ttl is out of range',
            DETAIL = format('between 5 minutes and %s', v_max_ttl);
    END IF;

    -- Usernames cannot contain '@', so the login names exactly one index.
    IF strpos(v_login, '@') > 0 THEN
        SELECT * INTO v_user FROM lp.users AS u
         WHERE u.email = v_login::ext.citext AND u.deleted_at IS NULL FOR NO KEY UPDATE;
    ELSE
        SELECT * INTO v_user FROM lp.users AS u
         WHERE u.username = v_login::ext.citext AND u.deleted_at IS NULL FOR NO KEY UPDATE;
    END IF;

    -- Every failure below answers the same (LP020) and costs one bcrypt computation, so neither the
    -- answer nor its timing tells whether the account exists or is locked.
    IF v_user.id IS NULL THEN
        PERFORM lp.hash_password(p_password);
        PERFORM lp.audit('auth.login_failed', NULL, NULL, jsonb_build_object('reason', 'unknown_login'),
                         p_ip_address, NULL);
        RETURN ROW(false, 'LP020', NULL, NULL, NULL, NULL)::api.login_result;
    END IF;

    IF v_user.password_hash IS DISTINCT FROM ext.crypt(p_password, v_user.password_hash) THEN
        IF v_user.locked_until IS NULL OR v_user.locked_until <= now() THEN
            UPDATE lp.users AS u SET failed_login_count = u.failed_login_count + 1 WHERE u.id = v_user.id
            RETURNING * INTO v_user;
            IF v_user.failed_login_count >= v_max_fail THEN
                UPDATE lp.users AS u SET locked_until = now() + v_lock_for, failed_login_count = 0
                 WHERE u.id = v_user.id;
                PERFORM lp.audit('auth.lockout', 'user', v_user.id::text,
                                 jsonb_build_object('minutes', extract(epoch FROM v_lock_for) / 60),
                                 p_ip_address, v_user.id);
            END IF;
        END IF;
        PERFORM lp.audit('auth.login_failed', 'user', v_user.id::text,
                         jsonb_build_object('reason', 'bad_password'), p_ip_address, v_user.id);
        RETURN ROW(false, 'LP020', NULL, NULL, NULL, NULL)::api.login_result;
    END IF;

    IF v_user.locked_until > now() THEN
        PERFORM lp.audit('auth.login_failed', 'user', v_user.id::text,
                         jsonb_build_object('reason', 'locked'), p_ip_address, v_user.id);
        RETURN ROW(false, 'LP020', NULL, NULL, NULL, NULL)::api.login_result;
    END IF;

    -- The password is right: from here on, saying why the login is refused reveals nothing new.
    v_sanction := lp.sanction_refusal(v_user.id, 'login');  -- a suspension or ban
    IF v_sanction.id IS NOT NULL THEN
        PERFORM lp.audit('auth.login_refused', 'user', v_user.id::text,
                         jsonb_build_object('reason', 'sanction', 'sanction_id', v_sanction.id,
                                            'sanction_type', v_sanction.sanction_type),
                         p_ip_address, v_user.id);
        RETURN ROW(false, 'LP022', NULL, NULL, NULL, NULL)::api.login_result;
    END IF;

    v_token := lp.new_token();
    v_expires_at := now() + coalesce(p_ttl, v_max_ttl);
    INSERT INTO lp.auth_sessions (user_id, token_hash, ip_address, user_agent, device_info, expires_at)
    VALUES (v_user.id, lp.hash_token(v_token), p_ip_address, v_agent, coalesce(p_device_info, '{}'), v_expires_at)
    RETURNING id INTO v_session_id;
    -- The password is known here, so a hash stored at another work factor than auth.bcrypt_cost (raised or
    -- lowered since it was made) is replaced by one at the current cost: the setting applies to every account
    -- that logs in, not only to new passwords. Not a password change: password_changed_at and the sessions stay.
    -- The row is locked since the lookup, so v_user holds the stored hash (the CHECK of lp.users makes it bcrypt).
    v_old_cost := (substring(v_user.password_hash FROM '^\$2[abxy]\$([0-9]{2})\$'))::integer;
    UPDATE lp.users AS u
       SET failed_login_count = 0, locked_until = NULL, last_login_at = now(),
           password_hash = CASE WHEN v_old_cost IS DISTINCT FROM v_cost THEN lp.hash_password(p_password)
                                ELSE u.password_hash END
     WHERE u.id = v_user.id
    RETURNING (substring(u.password_hash FROM '^\$2[abxy]\$([0-9]{2})\$'))::integer INTO v_new_cost;
    PERFORM lp.audit('auth.login', 'session', v_session_id::text,
                     jsonb_build_object('user_agent', v_agent), p_ip_address, v_user.id);
    -- A re-hash is audited (auth.rehash), in this transaction and only when it happened, so an operator sees
    -- which accounts a cost change has reached: the two work factors, never the hash or the password.
    IF v_old_cost IS DISTINCT FROM v_cost THEN
        PERFORM lp.audit('auth.rehash', 'user', v_user.id::text,
                         jsonb_build_object('from_cost', v_old_cost, 'to_cost', v_new_cost), p_ip_address, v_user.id);
    END IF;
    RETURN ROW(true, NULL, v_user.id, v_session_id, v_token, v_expires_at)::api.login_result;
END
$$;
COMMENT ON FUNCTION api.login(text, text, inet, text, jsonb, interval) IS 'Logs in by e-mail or username and returns a new session token (256 bits, stored only hashed). Failures are returned in-band (success false, error_code LP020 invalid credentials, or LP022 sanctioned) so the failure counter, lockout and audit record persist; a successful login re-hashes the password at auth.bcrypt_cost when the stored hash has another cost (password_changed_at unchanged), audited as auth.rehash (from_cost, to_cost; no hash); malformed arguments raise LP018 (among them a device_info that is not a JSON object of at most 4096 bytes as text, a user_agent over 512 characters).';
REVOKE ALL ON FUNCTION api.login(text, text, inet, text, jsonb, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.login(text, text, inet, text, jsonb, interval) TO livepanty_app, livepanty_service;
