CREATE FUNCTION api.sweep_wallets(p_limit integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_wallet uuid;
    v_swept  integer := 0;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 100000';
    END IF;
    -- User wallets with credits waiting in their shards. Their main rows are locked here, in wallet-id order,
    -- skipping any another transaction holds (a wallet busy spending is swept by that spend or the next run),
    -- so the job never waits; lp.sweep_wallet then takes only the shards nobody is crediting right now. (The
    -- lock protocol of docs/ledger.md, with SKIP LOCKED: this job never waits for anything.)
    FOR v_wallet IN
        SELECT w.id FROM lp.wallets AS w
         WHERE w.kind = 'user'
           AND w.id IN (SELECT s.wallet_id FROM lp.wallet_shards AS s WHERE s.balance <> 0)
         ORDER BY w.id
         LIMIT p_limit
           FOR NO KEY UPDATE OF w SKIP LOCKED
    LOOP
        IF lp.sweep_wallet(v_wallet) <> 0 THEN
            v_swept := v_swept + 1;
        END IF;
    END LOOP;
    RETURN v_swept;
END
$$;
COMMENT ON FUNCTION api.sweep_wallets(integer) IS 'Service role (job): sweeps the credit shards of up to p_limit user wallets (1..100000, LP018) into their main balances, one ledger transaction per wallet (lp.sweep_wallet). Wallets whose main row another transaction holds, and shards being credited right now, are skipped (never waits). Returns the number of wallets swept. Locks stay until commit: run it in short transactions with a modest limit, repeatedly, until it returns 0.';
REVOKE ALL ON FUNCTION api.sweep_wallets(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.sweep_wallets(integer) TO livepanty_service;
