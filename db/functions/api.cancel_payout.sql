CREATE FUNCTION api.cancel_payout(p_payout_id uuid, p_idempotency_key text) RETURNS lp.payouts
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user   uuid := lp.require_user();
    v_scope  text := 'payouts.cancel';
    v_done   jsonb;
    v_payout lp.payouts;
    v_wallet uuid;
BEGIN
    v_done := lp.idempotency_begin(v_scope, p_idempotency_key,
                                   jsonb_build_object('payout_id', p_payout_id, 'user_id', v_user));
    IF v_done IS NOT NULL THEN
        PERFORM lp.note_replay('api.cancel_payout', p_idempotency_key);
        RETURN jsonb_populate_record(NULL::lp.payouts, v_done);
    END IF;

    -- LP003 also for another user's payout (it looks exactly like a missing one), LP004 unless requested.
    v_payout := lp.lock_payout(p_payout_id, ARRAY['requested'], 'cancelled', p_owner => v_user);

    UPDATE lp.payouts AS p SET status = 'cancelled' WHERE p.id = p_payout_id
    RETURNING * INTO v_payout;
    SELECT w.id INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = v_user;
    PERFORM lp.post(gen_random_uuid(), 'payout', v_payout.id,
        ARRAY[ROW(lp.system_wallet('payout_clearing'), -v_payout.tokens, 'payout_return', 0, false)::lp.posting,
              ROW(v_wallet, v_payout.tokens, 'payout_return', 0, false)::lp.posting]);
    PERFORM lp.audit('payout.cancel', 'payout', v_payout.id::text,
                     jsonb_build_object('user_id', v_user, 'tokens', v_payout.tokens));
    PERFORM lp.idempotency_finish(v_scope, p_idempotency_key, to_jsonb(v_payout));
    RETURN v_payout;
END
$$;
COMMENT ON FUNCTION api.cancel_payout(uuid, text) IS 'The acting user withdraws their own payout while it is still requested (not yet approved, let alone sending); its tokens return from payout clearing to their wallet. LP003 unknown or another user''s, LP004 not requested. Idempotent per key (scope payouts.cancel; LP106 for other arguments). Audited (payout.cancel).';
REVOKE ALL ON FUNCTION api.cancel_payout(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.cancel_payout(uuid, text) TO livepanty_app, livepanty_service;
