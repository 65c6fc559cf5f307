CREATE FUNCTION lp.fee_for(p_amount bigint) RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- Rounded down: the fee is floor(amount * bps / 10000) and the performer gets amount - fee, so the two
    -- parts always add up to the amount and no token is lost or made.
    SELECT (p_amount * (lp.setting('tips.fee_bps'))::bigint) / 10000
$$;
COMMENT ON FUNCTION lp.fee_for(bigint) IS 'Platform fee on a tip or capture of p_amount tokens: floor(amount * tips.fee_bps / 10000); the payee gets the rest.';
REVOKE ALL ON FUNCTION lp.fee_for(bigint) FROM PUBLIC;
