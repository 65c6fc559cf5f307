CREATE FUNCTION api.refund_payment(
    p_payment_id      uuid,
    p_reason          text,
    p_idempotency_key text
) RETURNS lp.payments
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_scope    constant text := 'payments.refund';
    v_reason   text := lp.check_text(p_reason, 'reason', 500, true);
    v_response jsonb;
    v_payment  lp.payments;
BEGIN
    v_response := lp.idempotency_begin(v_scope, p_idempotency_key,
                                       jsonb_build_object('payment_id', p_payment_id, 'reason', v_reason));
    IF v_response IS NOT NULL THEN
        PERFORM lp.note_replay('api.refund_payment', p_idempotency_key);
        RETURN jsonb_populate_record(NULL::lp.payments, v_response);
    END IF;

    -- Lock order (docs/ledger.md): the buyer's spend counter (lp.claw_back writes it after the wallets) before
    -- the payment and the wallets, as the buyer's own tips take it.
    PERFORM lp.lock_spend_counter(p.user_id) FROM lp.payments AS p WHERE p.id = p_payment_id;
    v_payment := lp.claw_back(p_payment_id, 'refund', v_reason);  -- locks it (LP003, LP004 unless completed)
    PERFORM lp.audit('payment.refund', 'payment', v_payment.id::text,
        jsonb_build_object('user_id', v_payment.user_id, 'tokens', v_payment.tokens,
                           'recovered_tokens', v_payment.recovered_tokens,
                           'written_off_tokens', v_payment.written_off_tokens,
                           'debt_tokens', v_payment.debt_tokens, 'reason', v_reason));

    PERFORM lp.idempotency_finish(v_scope, p_idempotency_key, to_jsonb(v_payment));
    RETURN v_payment;
END
$$;
COMMENT ON FUNCTION api.refund_payment(uuid, text, text) IS 'Service role: refunds a completed payment (reason required, 500 characters). The tokens are clawed back (issuance credited with all of them); what the buyer already spent follows refunds.shortfall_policy (debt or write_off). Audited as payment.refund. A refunded payment cannot be charged back. Takes the buyer''s spend counter first (lock protocol) and recomputes its first_payment_at from the payments still completed (the new-account caps apply again to an account whose only purchase is refunded). Idempotent per key (LP106 other arguments). LP003 unknown payment, LP004 not completed, LP018 missing reason or key.';
REVOKE ALL ON FUNCTION api.refund_payment(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.refund_payment(uuid, text, text) TO livepanty_service;
