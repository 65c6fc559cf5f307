CREATE FUNCTION lp.check_tokens(p_tokens bigint, p_what text, p_signed boolean DEFAULT false) RETURNS bigint
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_max bigint := (lp.setting('money.max_tokens'))::bigint;
BEGIN
    IF p_tokens IS NULL OR p_tokens = 0 OR (p_tokens < 0 AND NOT p_signed) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP103',
            MESSAGE = format('%s must be a %s number of tokens', p_what, CASE WHEN p_signed THEN 'non-zero' ELSE 'positive' END);
    END IF;
    -- Compared on both sides without abs(): abs(-2^63) itself would overflow.
    IF p_tokens > v_max OR p_tokens < -v_max THEN
        RAISE EXCEPTION USING ERRCODE = 'LP103', MESSAGE = format('%s is out of range', p_what),
            DETAIL = format('%s tokens; at most %s either way (money.max_tokens)', p_tokens, v_max);
    END IF;
    RETURN p_tokens;
END
$$;
COMMENT ON FUNCTION lp.check_tokens(bigint, text, boolean) IS 'Returns p_tokens when it is a positive number of tokens (with p_signed: non-zero, either sign) of at most money.max_tokens in size; LP103 otherwise. Every api function that takes an amount of tokens calls it first, so no amount can overflow the bigint arithmetic behind it (fees: amount * tips.fee_bps; window sums; balances).';
REVOKE ALL ON FUNCTION lp.check_tokens(bigint, text, boolean) FROM PUBLIC;
