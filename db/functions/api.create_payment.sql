CREATE FUNCTION api.create_payment(
    p_bundle_code     text,
    p_provider        text,
    p_idempotency_key text
) RETURNS lp.payments
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user    uuid := lp.require_user();
    v_key     text := lp.check_text(p_idempotency_key, 'idempotency_key', 128, true);
    v_bundle  lp.token_bundles;
    v_payment lp.payments;
BEGIN
    -- A retry with the same key returns the original payment; the same key with other arguments is refused.
    SELECT p.* INTO v_payment FROM lp.payments AS p WHERE p.user_id = v_user AND p.idempotency_key = v_key;
    IF v_payment.id IS NOT NULL THEN
        PERFORM lp.note_replay('api.create_payment', p_idempotency_key);
        RETURN lp.replay_payment(v_payment, p_bundle_code, p_provider);
    END IF;

    IF p_provider IS NULL OR p_provider !~ '^[a-z][a-z0-9_]{1,31}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018',
            MESSAGE = 'provider must be 2-32 lower-case letters, digits or underscores, starting with a letter';
    END IF;
    SELECT b.* INTO v_bundle FROM lp.token_bundles AS b WHERE b.code = p_bundle_code AND b.active;
    IF v_bundle.code IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP113', MESSAGE = 'no token bundle on sale has this code',
            DETAIL = format('bundle %L', left(p_bundle_code, 100)),
            HINT = 'api.list_bundles() lists the bundles on sale.';
    END IF;
    -- LP103: a bundle set before money.max_tokens was lowered (or existed) is not sold any more.
    PERFORM lp.check_tokens(v_bundle.tokens, 'bundle tokens');
    PERFORM lp.assert_not_sanctioned(v_user);
    -- Fraud controls: LP160 a new account over its purchase caps, LP161 too many purchases this hour (the
    -- purchase that reaches the threshold opens a fraud case). Counts the payments created.
    PERFORM lp.count_spend(v_user, 'purchase', v_bundle.tokens, v_key);

    -- Tokens and price are copied: a later change of the bundle does not change this payment.
    INSERT INTO lp.payments (user_id, provider, bundle_code, tokens, amount_minor, currency, idempotency_key)
    VALUES (v_user, p_provider, v_bundle.code, v_bundle.tokens, v_bundle.price_minor, v_bundle.currency, v_key)
    ON CONFLICT (user_id, idempotency_key) DO NOTHING
    RETURNING * INTO v_payment;
    IF v_payment.id IS NULL THEN
        -- A concurrent call with the same key committed first (this one waited for it at the counter): its
        -- replay, counted by no fraud control.
        PERFORM lp.uncount_spend(v_user, 'purchase', v_bundle.tokens);
        SELECT p.* INTO v_payment FROM lp.payments AS p WHERE p.user_id = v_user AND p.idempotency_key = v_key;
        PERFORM lp.note_replay('api.create_payment', p_idempotency_key);
        RETURN lp.replay_payment(v_payment, p_bundle_code, p_provider);
    END IF;
    RETURN v_payment;
END
$$;
COMMENT ON FUNCTION api.create_payment(text, text, text) IS 'The acting user starts buying a token bundle through a payment provider: a pending payment that copies the bundle''s tokens and price (the service role completes or fails it). Idempotent per user and key (same key, other arguments: LP106). LP113 no active bundle with this code, LP103 the bundle holds more than money.max_tokens, LP018 malformed provider or key, LP022 sanctioned buyer, LP160 a new account over its purchase caps, LP161 too many purchases this hour (lp.count_spend).';
REVOKE ALL ON FUNCTION api.create_payment(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.create_payment(text, text, text) TO livepanty_app, livepanty_service;
