CREATE FUNCTION api.set_user_role(p_user_id uuid, p_role text) RETURNS api.user_account
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_old   text;
    v_ended integer := 0;
BEGIN
    PERFORM lp.require_user('admin');
    PERFORM lp.check_choice(p_role, 'lp.user_role', 'role', 'LP017');
    PERFORM lp.lock_admin_set();
    SELECT u.role::text INTO v_old FROM lp.users AS u WHERE u.id = p_user_id AND u.deleted_at IS NULL FOR NO KEY UPDATE;
    IF v_old IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    IF v_old = p_role THEN
        RETURN lp.user_account(p_user_id);
    END IF;
    IF v_old = 'admin' THEN
        PERFORM lp.assert_not_last_admin(p_user_id);
    END IF;
    UPDATE lp.users AS u SET role = p_role::lp.user_role WHERE u.id = p_user_id;
    IF v_old = 'performer' THEN
        -- No longer a performer: off camera now (the go-live gate holds while a stream is live).
        v_ended := lp.end_streams_of(p_user_id, format('performer became %s', p_role));
    END IF;
    PERFORM lp.ensure_wallet_shards((SELECT w.id FROM lp.wallets AS w WHERE w.user_id = p_user_id));
    PERFORM lp.audit('user.role_change', 'user', p_user_id::text,
                     jsonb_build_object('from', v_old, 'to', p_role, 'streams_ended', v_ended));
    RETURN lp.user_account(p_user_id);
END
$$;
COMMENT ON FUNCTION api.set_user_role(uuid, text) IS 'Admins: changes a user''s platform role (audited). LP030 when it would leave no admin.';
REVOKE ALL ON FUNCTION api.set_user_role(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.set_user_role(uuid, text) TO livepanty_app, livepanty_service;
