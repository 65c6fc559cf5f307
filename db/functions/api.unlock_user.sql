CREATE FUNCTION api.unlock_user(p_user_id uuid, p_reason text) RETURNS api.user_account
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_reason text;
    v_until  timestamptz;
    v_failed integer;
BEGIN
    PERFORM lp.require_user('admin');
    v_reason := lp.check_text(p_reason, 'reason', 1000, true);
    SELECT u.locked_until, u.failed_login_count INTO v_until, v_failed
      FROM lp.users AS u
     WHERE u.id = p_user_id AND u.deleted_at IS NULL
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    IF v_until IS NULL OR v_until <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the account is not locked',
            DETAIL = format('%s failed login(s) since the last success', v_failed);
    END IF;
    UPDATE lp.users AS u SET locked_until = NULL, failed_login_count = 0 WHERE u.id = p_user_id;
    PERFORM lp.audit('user.unlock', 'user', p_user_id::text,
                     jsonb_build_object('locked_until', v_until, 'failed_login_count', v_failed,
                                        'reason', v_reason));
    RETURN lp.user_account(p_user_id);
END
$$;
COMMENT ON FUNCTION api.unlock_user(uuid, text) IS 'Admins: lift the lockout of an account that too many failed logins locked (locked_until in the future): clears locked_until and the failure count, audited (user.unlock) with the reason. LP003 unknown or deleted user, LP004 not locked.';
REVOKE ALL ON FUNCTION api.unlock_user(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.unlock_user(uuid, text) TO livepanty_app, livepanty_service;
