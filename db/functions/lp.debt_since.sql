CREATE FUNCTION lp.debt_since(p_balance bigint, p_reserved bigint, p_since timestamptz) RETURNS timestamptz
    LANGUAGE sql STABLE
AS $$
    -- The debt rule (docs/ledger.md, "One writer"), written once: a wallet whose balance ends below its reserved
    -- tokens is in debt since the first moment it was; once it is back, it is not. One SQL expression, inlined
    -- into the two statements that write a main balance (lp.move_main, and lp.post's single-statement
    -- transaction): no call at run time.
    SELECT CASE WHEN p_balance < p_reserved THEN coalesce(p_since, pg_catalog.now()) END
$$;
COMMENT ON FUNCTION lp.debt_since(bigint, bigint, timestamptz) IS 'Owner-only, the debt rule: the debt_since of a wallet whose main balance becomes p_balance with p_reserved tokens reserved and was in debt since p_since (NULL: not in debt): p_since or now() while the balance is below the reserved tokens, else NULL. Inlined into the writers of a main balance.';
REVOKE ALL ON FUNCTION lp.debt_since(bigint, bigint, timestamptz) FROM PUBLIC;
