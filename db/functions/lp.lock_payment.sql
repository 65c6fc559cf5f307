CREATE FUNCTION lp.lock_payment(p_payment_id uuid, p_from text[], p_action text) RETURNS lp.payments
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_payment lp.payments;
BEGIN
    -- Step 1 of the lock protocol (docs/ledger.md): the business row, before any wallet. FOR NO KEY UPDATE: no
    -- transition changes the id, and the lock does not block foreign-key checks (FOR KEY SHARE) onto the row.
    -- (api.complete_payment's UPDATE sets provider_reference, part of a unique key, which takes FOR UPDATE then.)
    SELECT p.* INTO v_payment FROM lp.payments AS p WHERE p.id = p_payment_id FOR NO KEY UPDATE;
    IF v_payment.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'payment not found';
    END IF;
    IF (v_payment.status::text = ANY (p_from)) IS NOT TRUE THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004',
            MESSAGE = format('a payment in status %s cannot be %s', v_payment.status, p_action),
            DETAIL = format('only a payment in status %s can be %s', array_to_string(p_from, ' or '), p_action);
    END IF;
    RETURN v_payment;
END
$$;
COMMENT ON FUNCTION lp.lock_payment(uuid, text[], text) IS 'The first step of every payment transition: locks the payment row (FOR NO KEY UPDATE) and returns it; LP003 when it does not exist, LP004 when its status is not one of p_from (the message names the status and p_action, e.g. ''refunded''; DETAIL the allowed states).';
REVOKE ALL ON FUNCTION lp.lock_payment(uuid, text[], text) FROM PUBLIC;
