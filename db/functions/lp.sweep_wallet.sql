CREATE FUNCTION lp.sweep_wallet(p_wallet_id uuid, p_wait boolean DEFAULT false) RETURNS bigint
    LANGUAGE sql
AS $$
    -- A posting that only sweeps: lp.post locks the main row (phase 1), then the shards (phase 2).
    SELECT lp.post(gen_random_uuid(), 'sweep', p_wallet_id, ARRAY[]::lp.posting[], NULL, p_wallet_id, p_wait);
$$;
COMMENT ON FUNCTION lp.sweep_wallet(uuid, boolean) IS 'Moves the balances of a user wallet''s idle credit shards into its main balance (lp.post with p_sweep: one ledger transaction, each shard debited to 0, the main balance credited with the total). Returns the tokens moved. Skips busy shards unless p_wait, then waits for them in shard order. LP199 for a system wallet.';
REVOKE ALL ON FUNCTION lp.sweep_wallet(uuid, boolean) FROM PUBLIC;
