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
    v_admin  boolean := lp.current_user_role() IS NOT DISTINCT FROM 'admin';
    v_role   text;
    v_count  integer;
    v_ended  integer;
    v_kyc    integer;
BEGIN
    IF v_target <> v_actor AND NOT v_admin THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins may delete another user';
    END IF;
    -- A user's own deletion, an admin's included, wants the proof api.request_erasure wants: their own session,
    -- opened by a login a few minutes ago (LP171 otherwise), so a stolen long-lived session token, or the back
    -- office acting in their name, cannot close the account. Before any lock (the global lock of an admin's
    -- call too). An admin's deletion of another user is an admin action, judged by the role alone (and
    -- audited as user.delete, not self).
    IF v_target = v_actor THEN
        PERFORM lp.require_recent_login(v_actor, 'deleting one''s own account');
    END IF;
    -- The account's open identity verifications end with it (below), locked first: the KYC functions lock a
    -- verification before its user's row (lp.refresh_kyc_gate), as lp.erase does.
    PERFORM 1 FROM lp.kyc_verifications AS k
     WHERE k.user_id = v_target AND k.status IN ('started', 'submitted', 'in_review', 'resubmission_requested')
     ORDER BY k.id
       FOR UPDATE;
    -- Only a deletion by an admin (of anyone, themselves included) can remove an admin: that one takes the
    -- global lock, now that the caller is authorised, before the user row (the lock order of api.set_user_role).
    -- A non-admin deleting their own account never lowers the number of admins and takes no global lock, so no
    -- plain user can hold up admin changes by deleting themselves and leaving the transaction open.
    IF v_admin THEN
        PERFORM lp.lock_admin_set();
    END IF;
    SELECT u.role::text INTO v_role FROM lp.users AS u WHERE u.id = v_target AND u.deleted_at IS NULL FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    IF v_admin THEN
        PERFORM lp.assert_not_last_admin(v_target);
    ELSIF v_role = 'admin' THEN
        -- Race with a promotion: the account became an admin after the role check above (the promotion
        -- committed while we waited for the row). Deleting it now, without the global lock, could remove the
        -- last admin; taking the lock now would invert the lock order. Refuse; a retry takes the admin path.
        -- The other order is safe without the lock: once we hold the row, a promotion (api.set_user_role locks
        -- the row FOR NO KEY UPDATE) waits for us and then finds the account deleted (LP003).
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the account became an admin while it was being deleted',
            HINT = 'Retry: an admin''s deletion checks that another admin remains.';
    END IF;
    UPDATE lp.users AS u SET deleted_at = now() WHERE u.id = v_target;
    v_count := lp.revoke_sessions(v_target, 'user_deleted');
    -- A deleted performer is off camera now. FOR NO KEY UPDATE on the user row above, not FOR UPDATE: what
    -- holds the performer's stream may key-share the user row through a foreign key (a hold's payee_id, a
    -- credit from another shard's recipient_id; lp.tips has none since 0048), so a stronger lock here would
    -- close a cycle with the stream lock taken here.
    v_ended := lp.end_streams_of(v_target, 'account deleted', 'account deleted');
    UPDATE lp.password_reset_tokens AS t SET revoked_at = now()
     WHERE t.user_id = v_target AND t.used_at IS NULL AND t.revoked_at IS NULL;
    -- Nobody verifies a deleted account: no admin approves its open verifications from the review queue, no
    -- provider webhook decides them (recorded as ignored).
    v_kyc := lp.abandon_open_kyc(v_target);
    PERFORM lp.audit('user.delete', 'user', v_target::text,
                     jsonb_build_object('reason', v_reason, 'sessions_revoked', v_count, 'streams_ended', v_ended,
                                        'self', v_target = v_actor, 'kyc_abandoned', v_kyc));
    RETURN lp.user_account(v_target);
END
$$;
COMMENT ON FUNCTION api.delete_user(uuid, text) IS 'Soft-deletes a user (the acting user, or any user for admins): anyone deleting their own account, an admin included, must act through their own session opened by a login at most privacy.erasure_login_minutes ago (lp.require_recent_login, checked before any lock; LP171 otherwise, also for the back office acting in their name); an admin deleting another user needs no recent login; sets deleted_at, revokes sessions and reset tokens, abandons open identity verifications (lp.abandon_open_kyc). Wallet, ledger and moderation history stay. LP030 for the last admin. Locking: an admin''s call takes lp.lock_admin_set (after the role check, before the user row), so concurrent demotions and deletions of admins cannot together remove the last one. A non-admin deleting their own account takes only their own row: it cannot remove an admin, and while it holds the row no promotion of that account can commit; if a promotion committed between the role check and the row lock, the call is refused with LP004 (nothing changed; a retry runs as an admin''s).';
REVOKE ALL ON FUNCTION api.delete_user(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.delete_user(uuid, text) TO livepanty_app, livepanty_service;
