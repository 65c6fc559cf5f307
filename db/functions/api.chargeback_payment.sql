CREATE FUNCTION api.chargeback_payment(
    p_payment_id      uuid,
    p_reason          text,
    p_idempotency_key text
) RETURNS lp.payments
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_scope    constant text := 'payments.chargeback';
    v_reason   text := lp.check_text(p_reason, 'reason', 500, true);
    v_response jsonb;
    v_payment  lp.payments;
    v_report   uuid;
    v_fraud    jsonb;
BEGIN
    v_response := lp.idempotency_begin(v_scope, p_idempotency_key,
                                       jsonb_build_object('payment_id', p_payment_id, 'reason', v_reason));
    IF v_response IS NOT NULL THEN
        PERFORM lp.note_replay('api.chargeback_payment', p_idempotency_key);
        RETURN jsonb_populate_record(NULL::lp.payments, v_response);
    END IF;

    -- Lock order (docs/ledger.md): the buyer's spend counter (lp.fraud_on_chargeback writes it after the
    -- wallets) before the payment and the wallets, as the buyer's own tips take it.
    PERFORM lp.lock_spend_counter(p.user_id) FROM lp.payments AS p WHERE p.id = p_payment_id;
    v_payment := lp.claw_back(p_payment_id, 'chargeback', v_reason);  -- locks it (LP003, LP004 unless completed)

    -- Fraud controls (lp.fraud_on_chargeback), pending review: a high-priority fraud case on the buyer in the
    -- review queue, a tip_block on the buyer, a payout_hold on the performers who received most of the tokens.
    v_fraud := lp.fraud_on_chargeback(v_payment, v_reason);
    v_report := (v_fraud ->> 'case_id')::uuid;
    PERFORM lp.audit('payment.chargeback', 'payment', v_payment.id::text,
        jsonb_build_object('user_id', v_payment.user_id, 'tokens', v_payment.tokens,
                           'recovered_tokens', v_payment.recovered_tokens,
                           'written_off_tokens', v_payment.written_off_tokens,
                           'debt_tokens', v_payment.debt_tokens, 'reason', v_reason, 'report_id', v_report,
                           'tip_block_id', v_fraud -> 'tip_block_id', 'payout_holds', v_fraud -> 'payout_holds',
                           'payout_holds_asked', v_fraud -> 'payout_holds_asked'));

    PERFORM lp.idempotency_finish(v_scope, p_idempotency_key, to_jsonb(v_payment));
    RETURN v_payment;
END
$$;
COMMENT ON FUNCTION api.chargeback_payment(uuid, text, text) IS 'Service role: records a chargeback of a completed payment (reason required, 500 characters). The tokens are clawed back like a refund (refunds.shortfall_policy decides about tokens already spent), the buyer is flagged for review (a high-priority fraud case in the review queue) and gets a tip_block, and each performer who received at least fraud.chargeback_share_bps of the tokens in tips from the buyer within fraud.chargeback_window_hours after the payment gets a payout_hold, pending review (lp.fraud_on_chargeback) and the chargeback is audited as payment.chargeback. A refunded payment cannot be charged back. Idempotent per key (LP106 other arguments). LP003 unknown payment, LP004 not completed, LP018 missing reason or key.';
REVOKE ALL ON FUNCTION api.chargeback_payment(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.chargeback_payment(uuid, text, text) TO livepanty_service;
