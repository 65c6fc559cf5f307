CREATE FUNCTION api.get_payment(p_payment_id uuid) RETURNS lp.payments
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user    uuid := lp.require_user();
    v_payment lp.payments;
BEGIN
    SELECT p.* INTO v_payment FROM lp.payments AS p
     WHERE p.id = p_payment_id
       AND (p.user_id = v_user OR lp.current_user_role() IS NOT DISTINCT FROM 'admin');
    IF v_payment.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'payment not found';
    END IF;
    RETURN v_payment;
END
$$;
COMMENT ON FUNCTION api.get_payment(uuid) IS 'One payment: the buyer''s own, or any for admins. LP003 when it does not exist or belongs to someone else.';
REVOKE ALL ON FUNCTION api.get_payment(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_payment(uuid) TO livepanty_app, livepanty_service;
