CREATE FUNCTION lp.fee_for(p_amount bigint, p_bps bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE sql STABLE
AS $$
    -- Rounded down: the fee is floor(amount * bps / 10000) and the performer gets amount - fee, so the two
    -- parts always add up to the amount and no token is lost or made. p_bps: tips.fee_bps when the caller
    -- already read it (api.tip, api.tip_many read every setting they need in one statement).
    SELECT (p_amount * coalesce(p_bps, (lp.setting('tips.fee_bps'))::bigint)) / 10000
$$;
COMMENT ON FUNCTION lp.fee_for(bigint, bigint) IS 'Platform fee on a tip or capture of p_amount tokens: floor(amount * tips.fee_bps / 10000) (p_bps: that setting, when the caller has read it); the payee gets the rest. The one place of the fee rule.';
REVOKE ALL ON FUNCTION lp.fee_for(bigint, bigint) FROM PUBLIC;
