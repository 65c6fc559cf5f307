CREATE FUNCTION lp.sweep_wallet(p_wallet_id uuid, p_wait boolean DEFAULT false) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_tx      uuid := gen_random_uuid();
    v_total   bigint;
    v_balance bigint;
BEGIN
    -- The main balance first (lock order), then whichever shards are not busy: a shard another
    -- transaction is crediting right now is left for the next sweep, so by default a sweep never waits for a
    -- shard. With p_wait it waits for all of them (in shard order), for a debit that needs them now.
    UPDATE lp.wallets AS w SET balance = w.balance WHERE w.id = p_wallet_id AND w.kind = 'user'
    RETURNING w.balance INTO v_balance;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'only user wallets are swept';
    END IF;
    IF p_wait THEN
        -- Wait for every shard, in shard order (after the main row: still the global lock order).
        PERFORM 1 FROM lp.wallet_shards AS s WHERE s.wallet_id = p_wallet_id ORDER BY s.shard FOR UPDATE;
    END IF;
    WITH picked AS (
        SELECT s.shard, s.balance FROM lp.wallet_shards AS s
         WHERE s.wallet_id = p_wallet_id AND s.balance <> 0
         ORDER BY s.shard
           FOR UPDATE SKIP LOCKED
    ), emptied AS (
        UPDATE lp.wallet_shards AS s SET balance = 0
          FROM picked
         WHERE s.wallet_id = p_wallet_id AND s.shard = picked.shard
        RETURNING picked.shard, picked.balance
    ), entries AS (
        INSERT INTO lp.ledger (transaction_id, wallet_id, shard, amount, balance_before, balance_after, entry_kind,
                               reference_type, reference_id)
        SELECT v_tx, p_wallet_id, e.shard, -e.balance, e.balance, 0, 'sweep', 'sweep', p_wallet_id FROM emptied AS e
        RETURNING amount
    )
    SELECT coalesce(-sum(amount), 0)::bigint INTO v_total FROM entries;
    IF v_total = 0 THEN
        RETURN 0::bigint;
    END IF;
    UPDATE lp.wallets AS w
       SET balance = w.balance + v_total,
           debt_since = CASE WHEN w.balance + v_total < w.reserved THEN w.debt_since END
     WHERE w.id = p_wallet_id;
    INSERT INTO lp.ledger (transaction_id, wallet_id, shard, amount, balance_before, balance_after, entry_kind,
                           reference_type, reference_id)
    VALUES (v_tx, p_wallet_id, 0, v_total, v_balance, v_balance + v_total, 'sweep', 'sweep', p_wallet_id);
    RETURN v_total;
END
$$;
COMMENT ON FUNCTION lp.sweep_wallet(uuid, boolean) IS 'Moves the balances of a user wallet''s idle credit shards into its main balance (one ledger transaction: each shard debited to 0, the main balance credited with the total). Returns the tokens moved. Skips busy shards unless p_wait, then waits for them in shard order.';
REVOKE ALL ON FUNCTION lp.sweep_wallet(uuid, boolean) FROM PUBLIC;
