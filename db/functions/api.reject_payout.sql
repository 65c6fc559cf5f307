CREATE FUNCTION api.reject_payout(p_payout_id uuid, p_reason text, p_idempotency_key text) RETURNS lp.payouts
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user('admin');
    v_reason text := lp.check_text(p_reason, 'reason', 1000, true);
    v_scope  text := 'payouts.reject';
    v_done   jsonb;
    v_payout lp.payouts;
    v_wallet uuid;
BEGIN
    v_done := lp.idempotency_begin(v_scope, p_idempotency_key,
                                   jsonb_build_object('payout_id', p_payout_id, 'reason', v_reason));
    IF v_done IS NOT NULL THEN
        PERFORM lp.note_replay('api.reject_payout', p_idempotency_key);
        RETURN jsonb_populate_record(NULL::lp.payouts, v_done);
    END IF;

    -- Not a sending payout (LP004): its transfer may have left; only api.mark_payout_paid or
    -- api.mark_payout_failed settle it.
    v_payout := lp.lock_payout(p_payout_id, ARRAY['requested', 'approved'], 'rejected',
                               p_reviewer => v_actor);  -- LP003, LP002, LP004

    UPDATE lp.payouts AS p
       SET status = 'rejected', reviewed_by = v_actor, reviewed_at = now(), rejection_reason = v_reason
     WHERE p.id = p_payout_id
    RETURNING * INTO v_payout;
    -- The tokens go back to the performer (a credit: it lands on one of the wallet's credit shards).
    SELECT w.id INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = v_payout.user_id;
    PERFORM lp.post(gen_random_uuid(), 'payout', v_payout.id,
        ARRAY[ROW(lp.system_wallet('payout_clearing'), -v_payout.tokens, 'payout_return', 0, false)::lp.posting,
              ROW(v_wallet, v_payout.tokens, 'payout_return', 0, false)::lp.posting]);
    PERFORM lp.audit('payout.reject', 'payout', v_payout.id::text,
                     jsonb_build_object('user_id', v_payout.user_id, 'tokens', v_payout.tokens, 'reason', v_reason));
    PERFORM lp.idempotency_finish(v_scope, p_idempotency_key, to_jsonb(v_payout));
    RETURN v_payout;
END
$$;
COMMENT ON FUNCTION api.reject_payout(uuid, text, text) IS 'Admins: rejects a requested or approved payout with a reason (1..1000 characters, LP018); its tokens return from payout clearing to the performer''s wallet. LP003 unknown, LP002 own payout, LP004 other states (a sending payout too: its transfer may have left, api.mark_payout_paid or api.mark_payout_failed settles it). Idempotent per key (scope payouts.reject; LP106 for other arguments). Audited (payout.reject).';
REVOKE ALL ON FUNCTION api.reject_payout(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.reject_payout(uuid, text, text) TO livepanty_app, livepanty_service;
