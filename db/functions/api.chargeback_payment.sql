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
BEGIN
    v_response := lp.idempotency_begin(v_scope, p_idempotency_key,
                                       jsonb_build_object('payment_id', p_payment_id, 'reason', v_reason));
    IF v_response IS NOT NULL THEN
        RETURN jsonb_populate_record(NULL::lp.payments, v_response);
    END IF;

    v_payment := lp.claw_back(p_payment_id, 'chargeback', v_reason);  -- locks it (LP003, LP004 unless completed)

    -- A chargeback flags the buyer for review: a high-priority fraud case in the moderation queue.
    INSERT INTO lp.reports (reporter_id, reported_user_id, reason, priority, description)
    VALUES (NULL, v_payment.user_id, 'fraud', 'high',
            format('Chargeback of payment %s (%s tokens, %s %s, provider %s reference %s): %s. Recovered %s, written off %s, owed %s tokens.',
                   v_payment.id, v_payment.tokens, v_payment.amount_minor, v_payment.currency, v_payment.provider,
                   v_payment.provider_reference, v_reason, v_payment.recovered_tokens, v_payment.written_off_tokens,
                   v_payment.debt_tokens))
    RETURNING id INTO v_report;
    PERFORM lp.audit('payment.chargeback', 'payment', v_payment.id::text,
        jsonb_build_object('user_id', v_payment.user_id, 'tokens', v_payment.tokens,
                           'recovered_tokens', v_payment.recovered_tokens,
                           'written_off_tokens', v_payment.written_off_tokens,
                           'debt_tokens', v_payment.debt_tokens, 'reason', v_reason, 'report_id', v_report));

    PERFORM lp.idempotency_finish(v_scope, p_idempotency_key, to_jsonb(v_payment));
    RETURN v_payment;
END
$$;
COMMENT ON FUNCTION api.chargeback_payment(uuid, text, text) IS 'Service role: records a chargeback of a completed payment (reason required, 500 characters). The tokens are clawed back like a refund (refunds.shortfall_policy decides about tokens already spent), the buyer is flagged for review (a high-priority fraud report) and the chargeback is audited as payment.chargeback. A refunded payment cannot be charged back. Idempotent per key (LP106 other arguments). LP003 unknown payment, LP004 not completed, LP018 missing reason or key.';
REVOKE ALL ON FUNCTION api.chargeback_payment(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.chargeback_payment(uuid, text, text) TO livepanty_service;
