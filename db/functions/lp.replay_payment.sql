CREATE FUNCTION lp.replay_payment(
    p_payment     lp.payments,
    p_bundle_code text,
    p_provider    text
) RETURNS lp.payments
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    IF (p_payment.bundle_code, p_payment.provider) IS DISTINCT FROM (p_bundle_code, p_provider) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different payment',
            DETAIL = format('payment %s', p_payment.id);
    END IF;
    RETURN p_payment;
END
$$;
COMMENT ON FUNCTION lp.replay_payment(lp.payments, text, text) IS 'Replay of api.create_payment with a used idempotency key: the payment as it is now when the arguments match, LP106 otherwise.';
REVOKE ALL ON FUNCTION lp.replay_payment(lp.payments, text, text) FROM PUBLIC;
