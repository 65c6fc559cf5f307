CREATE FUNCTION lp.system_wallet(p_code text) RETURNS uuid
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_id uuid;
BEGIN
    SELECT w.id INTO v_id FROM lp.wallets AS w WHERE w.system_code = p_code;
    IF v_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = format('system wallet %L missing', p_code);
    END IF;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION lp.system_wallet(text) IS 'Id of a system wallet: issuance, platform_fees, payout_clearing, chargeback_losses or adjustments.';
REVOKE ALL ON FUNCTION lp.system_wallet(text) FROM PUBLIC;
