CREATE FUNCTION api.complete_payment(
    p_payment_id         uuid,
    p_provider_reference text,
    p_idempotency_key    text
) RETURNS lp.payments
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_scope     constant text := 'payments.complete';
    v_reference text := lp.check_text(p_provider_reference, 'provider_reference', 255, true);
    v_request   jsonb;
    v_response  jsonb;
    v_payment   lp.payments;
    v_wallet    uuid;
BEGIN
    v_request := jsonb_build_object('payment_id', p_payment_id, 'provider_reference', v_reference);
    v_response := lp.idempotency_begin(v_scope, p_idempotency_key, v_request);
    IF v_response IS NOT NULL THEN
        PERFORM lp.note_replay('api.complete_payment', p_idempotency_key);
        RETURN jsonb_populate_record(NULL::lp.payments, v_response);
    END IF;

    -- Lock order (docs/ledger.md): the buyer's spend counter, written below for the fraud controls, before the
    -- payment and the wallets, as the buyer's own tips take it (a buyer's id never changes: read unlocked).
    PERFORM lp.lock_spend_counter(p.user_id) FROM lp.payments AS p WHERE p.id = p_payment_id;
    v_payment := lp.lock_payment(p_payment_id, ARRAY['pending'], 'completed');  -- LP003, LP004
    BEGIN
        UPDATE lp.payments AS p
           SET status = 'completed', completed_at = now(), provider_reference = v_reference
         WHERE p.id = p_payment_id
        RETURNING * INTO v_payment;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'provider_reference already belongs to another payment',
            DETAIL = format('provider %s reference %s', v_payment.provider, v_reference);
    END;

    -- A wallet in debt is credited on its main balance (and its shards swept), so the debt clears at once.
    SELECT w.id INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = v_payment.user_id;
    PERFORM lp.post(gen_random_uuid(), 'payment', v_payment.id,
        ARRAY[ROW(lp.system_wallet('issuance'), -v_payment.tokens, 'purchase', 0, false)::lp.posting,
              ROW(v_wallet, v_payment.tokens, 'purchase', 0, false)::lp.posting]);
    -- A verified payment: the fraud controls' new-account test (lp.count_spend) reads it.
    UPDATE lp.spend_counters AS f SET first_payment_at = v_payment.completed_at
     WHERE f.user_id = v_payment.user_id AND f.first_payment_at IS NULL;

    PERFORM lp.idempotency_finish(v_scope, p_idempotency_key, to_jsonb(v_payment));
    RETURN v_payment;
END
$$;
COMMENT ON FUNCTION api.complete_payment(uuid, text, text) IS 'Service role: the provider confirmed a pending payment. Records the provider''s reference (unique per provider: LP018 when another payment has it) and credits the tokens from the issuance wallet in one ledger transaction (a purchase that brings a wallet in debt back to its reserved tokens clears the debt). Idempotent per key (LP106 other arguments). LP003 unknown payment, LP004 not pending, LP018 missing reference or key.';
REVOKE ALL ON FUNCTION api.complete_payment(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.complete_payment(uuid, text, text) TO livepanty_service;
