CREATE FUNCTION api.fail_payment(
    p_payment_id      uuid,
    p_reason          text,
    p_idempotency_key text
) RETURNS lp.payments
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_scope    constant text := 'payments.fail';
    v_reason   text := lp.check_text(p_reason, 'reason', 500);
    v_response jsonb;
    v_payment  lp.payments;
BEGIN
    v_response := lp.idempotency_begin(v_scope, p_idempotency_key,
                                       jsonb_build_object('payment_id', p_payment_id, 'reason', v_reason));
    IF v_response IS NOT NULL THEN
        PERFORM lp.note_replay('api.fail_payment', p_idempotency_key);
        RETURN jsonb_populate_record(NULL::lp.payments, v_response);
    END IF;

    v_payment := lp.lock_payment(p_payment_id, ARRAY['pending'], 'marked failed');  -- LP003, LP004
    UPDATE lp.payments AS p SET status = 'failed', failure_reason = v_reason
     WHERE p.id = p_payment_id
    RETURNING * INTO v_payment;

    PERFORM lp.idempotency_finish(v_scope, p_idempotency_key, to_jsonb(v_payment));
    RETURN v_payment;
END
$$;
COMMENT ON FUNCTION api.fail_payment(uuid, text, text) IS 'Service role: the provider declined a pending payment (optional reason, 500 characters); no token moves. Idempotent per key (LP106 other arguments). LP003 unknown payment, LP004 not pending, LP018 reason too long or missing key.';
REVOKE ALL ON FUNCTION api.fail_payment(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.fail_payment(uuid, text, text) TO livepanty_service;
