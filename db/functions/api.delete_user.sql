CREATE FUNCTION api.delete_user(
    p_user_id uuid DEFAULT NULL,
    p_reason  text DEFAULT NULL
) RETURNS api.user_account
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_target uuid := coalesce(p_user_id, v_actor);
    v_reason text := lp.check_text(p_reason, 'reason', 1000);
    v_count  integer;
BEGIN
    IF v_target <> v_actor AND lp.current_user_role() <> 'admin' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins may delete another user';
    END IF;
    PERFORM lp.lock_admin_set();
    PERFORM 1 FROM lp.users AS u WHERE u.id = v_target AND u.deleted_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    PERFORM lp.assert_not_last_admin(v_target);
    UPDATE lp.users AS u SET deleted_at = now() WHERE u.id = v_target;
    v_count := lp.revoke_sessions(v_target, 'user_deleted');
    UPDATE lp.password_reset_tokens AS t SET revoked_at = now()
     WHERE t.user_id = v_target AND t.used_at IS NULL AND t.revoked_at IS NULL;
    PERFORM lp.audit('user.delete', 'user', v_target::text,
                     jsonb_build_object('reason', v_reason, 'sessions_revoked', v_count, 'self', v_target = v_actor));
    RETURN lp.user_account(v_target);
END
$$;
COMMENT ON FUNCTION api.delete_user(uuid, text) IS 'Soft-deletes a user (the acting user, or any user for admins): sets deleted_at, revokes sessions and reset tokens. Wallet, ledger and moderation history stay. LP030 for the last admin.';
REVOKE ALL ON FUNCTION api.delete_user(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.delete_user(uuid, text) TO livepanty_app, livepanty_service;
