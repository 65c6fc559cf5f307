CREATE FUNCTION lp.move_main(p_wallet_id uuid, p_amount bigint, p_reserve bigint, p_allow_debt boolean)
    RETURNS bigint
    LANGUAGE plpgsql
AS $$
DECLARE
    v_balance bigint;
BEGIN
    -- The one write of a main balance (docs/ledger.md, "One writer"): lp.post for every posting on a main
    -- balance and every sweep, api.place_hold and lp.close_hold for reservations. The row lock, the check and
    -- the write in one statement; the debt rule lives here only. A change that leaves the available balance
    -- (balance - reserved) negative is refused (NULL) unless it is a credit or a release, which never make it
    -- worse, or p_allow_debt (clawbacks). PL/pgSQL, not SQL: an UPDATE is never inlined, and a SQL function
    -- would plan it again on every call; PL/pgSQL keeps the plan for the session.
    UPDATE lp.wallets AS w
       SET balance    = w.balance + p_amount,
           reserved   = w.reserved + p_reserve,
           debt_since = CASE WHEN w.balance + p_amount < w.reserved + p_reserve
                             THEN coalesce(w.debt_since, pg_catalog.now()) END
     WHERE w.id = p_wallet_id
       AND w.kind = 'user'
       AND (p_allow_debt OR (p_amount >= 0 AND p_reserve <= 0) OR w.balance + p_amount >= w.reserved + p_reserve)
    RETURNING w.balance INTO v_balance;
    RETURN v_balance;
END
$$;
COMMENT ON FUNCTION lp.move_main(uuid, bigint, bigint, boolean) IS 'Owner-only, inside the posting family: adds p_amount to a user wallet''s main balance and p_reserve to its reserved tokens in one guarded UPDATE and returns the new balance, or NULL when the change would leave the available balance negative (credits and releases always pass; p_allow_debt lets a clawback through). Sets debt_since when the balance ends below reserved and clears it once it is back. The caller holds (or takes here) the wallet row under the lock protocol of docs/ledger.md.';
REVOKE ALL ON FUNCTION lp.move_main(uuid, bigint, bigint, boolean) FROM PUBLIC;
