CREATE FUNCTION lp.may_move(p_balance bigint, p_reserved bigint, p_amount bigint, p_reserve bigint,
                            p_allow_debt boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE
AS $$
    -- The balance check (docs/ledger.md, "One writer"), written once: a change of a main balance by p_amount and
    -- of its reserved tokens by p_reserve may not leave the available balance (balance - reserved) negative,
    -- unless it is a credit or a release (they never make it worse) or a clawback (p_allow_debt). Inlined into
    -- the guarded UPDATEs of lp.move_main and lp.post.
    SELECT p_allow_debt OR (p_amount >= 0 AND p_reserve <= 0) OR p_balance + p_amount >= p_reserved + p_reserve
$$;
COMMENT ON FUNCTION lp.may_move(bigint, bigint, bigint, bigint, boolean) IS 'Owner-only, the balance check of a main-balance write: true when adding p_amount to a balance of p_balance and p_reserve to p_reserved reserved tokens leaves the available balance non-negative, or the change is a credit or a release, or p_allow_debt. Inlined into the writers of a main balance.';
REVOKE ALL ON FUNCTION lp.may_move(bigint, bigint, bigint, bigint, boolean) FROM PUBLIC;
