CREATE FUNCTION api.mark_payout_failed(p_payout_id uuid, p_reason text, p_idempotency_key text) RETURNS lp.payouts
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_reason text := lp.check_text(p_reason, 'reason', 1000, true);
    v_scope  text := 'payouts.mark_failed';
    v_done   jsonb;
    v_payout lp.payouts;
    v_wallet uuid;
BEGIN
    v_done := lp.idempotency_begin(v_scope, p_idempotency_key,
                                   jsonb_build_object('payout_id', p_payout_id, 'reason', v_reason));
    IF v_done IS NOT NULL THEN
        PERFORM lp.note_replay('api.mark_payout_failed', p_idempotency_key);
        RETURN jsonb_populate_record(NULL::lp.payouts, v_done);
    END IF;

    -- Approved (never sent) or sending (api.send_payout claimed it, the transfer failed): never stopped by a
    -- gate, the tokens only come back to the performer.
    v_payout := lp.lock_payout(p_payout_id, ARRAY['approved', 'sending'], 'marked failed');  -- LP003, LP004

    UPDATE lp.payouts AS p SET status = 'failed', failure_reason = v_reason
     WHERE p.id = p_payout_id
    RETURNING * INTO v_payout;
    -- The tokens go back to the performer (a credit: it lands on one of the wallet's credit shards).
    SELECT w.id INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = v_payout.user_id;
    PERFORM lp.post(gen_random_uuid(), 'payout', v_payout.id,
        ARRAY[ROW(lp.system_wallet('payout_clearing'), -v_payout.tokens, 'payout_return', 0, false)::lp.posting,
              ROW(v_wallet, v_payout.tokens, 'payout_return', 0, false)::lp.posting]);
    PERFORM lp.audit('payout.failed', 'payout', v_payout.id::text,
                     jsonb_build_object('user_id', v_payout.user_id, 'tokens', v_payout.tokens, 'reason', v_reason));
    PERFORM lp.idempotency_finish(v_scope, p_idempotency_key, to_jsonb(v_payout));
    RETURN v_payout;
END
$$;
COMMENT ON FUNCTION api.mark_payout_failed(uuid, text, text) IS 'Service role (payout processing): records that paying an approved or sending (api.send_payout) payout failed, with a reason (1..1000 characters, LP018); its tokens return from payout clearing to the performer''s wallet (no gate stops that). LP003 unknown, LP004 neither approved nor sending. Idempotent per key (scope payouts.mark_failed; LP106 for other arguments). Audited (payout.failed).';
REVOKE ALL ON FUNCTION api.mark_payout_failed(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.mark_payout_failed(uuid, text, text) TO livepanty_service;
