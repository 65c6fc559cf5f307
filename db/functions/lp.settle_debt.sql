CREATE FUNCTION lp.settle_debt(p_wallet_id uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- lp.post credits a sharded user wallet on a shard, so a purchase or a positive adjustment would leave the
    -- main balance (and debt_since) of a wallet in debt untouched until its next debit sweeps. Called before
    -- lp.post (takes the main row first, as the lock order wants) and after it (moves the new tokens, from a
    -- shard this transaction holds, into the main balance: lp.sweep_wallet clears debt_since once the main
    -- balance is back to its reserved tokens). A no-op for wallets without shards or not in debt.
    IF EXISTS (SELECT 1 FROM lp.wallets AS w
                WHERE w.id = p_wallet_id AND w.kind = 'user' AND w.shard_count > 0 AND w.debt_since IS NOT NULL) THEN
        PERFORM lp.sweep_wallet(p_wallet_id);
    END IF;
END
$$;
COMMENT ON FUNCTION lp.settle_debt(uuid) IS 'Sweeps a sharded user wallet that is in debt, so that a credit (purchase, adjustment) posted to one of its shards settles the debt at once; call it before and after lp.post. No-op otherwise.';
REVOKE ALL ON FUNCTION lp.settle_debt(uuid) FROM PUBLIC;
