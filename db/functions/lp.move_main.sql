CREATE FUNCTION lp.move_main(p_wallet_ids uuid[], p_amounts bigint[], p_reserves bigint[], p_allow_debt boolean)
    RETURNS bigint[]
    LANGUAGE plpgsql
AS $$
DECLARE
    v_afters bigint[];
BEGIN
    -- The write of a main balance (docs/ledger.md, "One writer"): lp.post for every posting on a main balance
    -- and every sweep (but its single-statement transaction), lp.post_batch for all the main balances of a
    -- batch in one statement, api.place_hold, lp.extend_hold and lp.close_hold for reservations. The row lock,
    -- the check and the write in one statement (a refusal decided again under the lock, below); the rules are
    -- lp.may_move and lp.debt_since. A change that leaves the available balance (balance - reserved) negative
    -- is refused (its element NULL) unless it is a credit or a release, which never make it worse, or
    -- p_allow_debt (clawbacks). PL/pgSQL, not SQL: an UPDATE is never inlined, and a SQL function would plan
    -- it again on every call; PL/pgSQL keeps the plan.
    FOR attempt IN 1 .. 2 LOOP
        WITH moves AS (
            SELECT m.wallet_id, m.amount, m.reserve, m.k
              FROM unnest(p_wallet_ids, p_amounts, p_reserves) WITH ORDINALITY AS m (wallet_id, amount, reserve, k)
        ), moved AS (
            UPDATE lp.wallets AS w
               SET balance    = w.balance + m.amount,
                   reserved   = w.reserved + m.reserve,
                   debt_since = lp.debt_since(w.balance + m.amount, w.reserved + m.reserve, w.debt_since)
              FROM moves AS m
             WHERE w.id = m.wallet_id
               AND w.kind = 'user'
               AND (attempt = 1 OR v_afters[m.k] IS NULL)
               AND lp.may_move(w.balance, w.reserved, m.amount, m.reserve, p_allow_debt)
            RETURNING m.k, w.balance
        )
        SELECT array_agg(coalesce(d.balance, v_afters[m.k]) ORDER BY m.k) INTO v_afters
          FROM moves AS m LEFT JOIN moved AS d ON d.k = m.k;
        EXIT WHEN attempt = 2 OR array_position(v_afters, NULL) IS NULL;
        -- A row the guard rejected was not waited for: the check read it as this statement's snapshot saw it,
        -- and a writer in flight (a purchase crediting it) was not waited for. The refused rows locked (in id
        -- order, waiting for such a writer; a no-op for rows the caller holds), they are decided once more on
        -- what they then hold.
        PERFORM 1 FROM lp.wallets AS w
         WHERE w.id = ANY (ARRAY(SELECT p_wallet_ids[k] FROM generate_subscripts(p_wallet_ids, 1) AS k
                                  WHERE v_afters[k] IS NULL))
           AND w.kind = 'user'
         ORDER BY w.id
           FOR NO KEY UPDATE;
    END LOOP;
    RETURN v_afters;
END
$$;
COMMENT ON FUNCTION lp.move_main(uuid[], bigint[], bigint[], boolean) IS 'Owner-only, inside the posting family: adds p_amounts[k] to the main balance and p_reserves[k] to the reserved tokens of user wallet p_wallet_ids[k] (distinct wallets), all in one guarded UPDATE, and returns the new balances in the same order, NULL for a change that would leave the available balance negative (credits and releases always pass; p_allow_debt lets a clawback through). Sets debt_since when a balance ends below reserved and clears it once it is back. The caller holds (or takes here, in the order given) the wallet rows under the lock protocol of docs/ledger.md.';
REVOKE ALL ON FUNCTION lp.move_main(uuid[], bigint[], bigint[], boolean) FROM PUBLIC;
