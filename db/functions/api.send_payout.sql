CREATE FUNCTION api.send_payout(p_payout_id uuid, p_idempotency_key text) RETURNS lp.payouts
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_scope  text := 'payouts.send';
    v_done   jsonb;
    v_payout lp.payouts;
BEGIN
    v_done := lp.idempotency_begin(v_scope, p_idempotency_key, jsonb_build_object('payout_id', p_payout_id));
    IF v_done IS NOT NULL THEN
        PERFORM lp.note_replay('api.send_payout', p_idempotency_key);
        RETURN jsonb_populate_record(NULL::lp.payouts, v_done);
    END IF;

    -- The processor's claim before it releases the money: one caller wins the approved payout (a second one
    -- waits for the row, then finds it sending: LP004).
    v_payout := lp.lock_payout(p_payout_id, ARRAY['approved'], 'sent');  -- LP003, LP004
    -- The decision that the money goes, taken now: the gates of the moment (LP022 suspension or ban, LP150
    -- payout_hold, LP111 the KYC gate). Refused, the payout stays approved and nothing is recorded.
    PERFORM lp.assert_payout_allowed(v_payout.user_id,
        'The payout stays approved: send it once the performer is verified again, or reject it.');

    UPDATE lp.payouts AS p SET status = 'sending', sending_at = now()
     WHERE p.id = p_payout_id
    RETURNING * INTO v_payout;
    PERFORM lp.audit('payout.sending', 'payout', v_payout.id::text,
                     jsonb_build_object('user_id', v_payout.user_id, 'tokens', v_payout.tokens,
                                        'amount_minor', v_payout.amount_minor, 'currency', v_payout.currency,
                                        'method', v_payout.method));
    PERFORM lp.idempotency_finish(v_scope, p_idempotency_key, to_jsonb(v_payout));
    RETURN v_payout;
END
$$;
COMMENT ON FUNCTION api.send_payout(uuid, text) IS 'Service role (payout processing): claims an approved payout right before its transfer is released, checking the gates of that moment: LP022 the performer is suspended or banned, LP150 a payout_hold is in force, LP111 no valid identity verification (lp.kyc_refusal) (refused: the payout stays approved, nothing is recorded, no money may go). Sets status sending and sending_at; no token moves (they stay in payout clearing) until api.mark_payout_paid records the transfer or api.mark_payout_failed its failure (tokens back), which a sending payout always accepts; it can no longer be rejected or cancelled. LP003 unknown, LP004 not approved (already sending: another call claimed it). Idempotent per key (scope payouts.send; LP106 for another payout; a replay returns the row of the first call). Audited (payout.sending).';
REVOKE ALL ON FUNCTION api.send_payout(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.send_payout(uuid, text) TO livepanty_service;
