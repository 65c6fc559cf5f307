CREATE FUNCTION api.balance_at(p_user_id uuid DEFAULT NULL, p_at timestamptz DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor   uuid := lp.require_user();
    v_target  uuid := coalesce(p_user_id, v_actor);
    v_wallet  lp.wallets;
    v_balance bigint;
BEGIN
    IF p_at IS NULL OR NOT isfinite(p_at) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'a point in time is required';
    END IF;
    IF v_target <> v_actor AND lp.current_user_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'wallet not found';
    END IF;
    SELECT w.* INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = v_target;
    IF v_wallet.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'wallet not found';
    END IF;
    -- Each account (main balance = shard 0, credit shards 1..n) has its own before/after chain: its balance at
    -- p_at is the balance_after of its last entry (in chain order, i.e. by id) created at or before p_at, 0 when
    -- it had none yet. ledger_account_chain_idx (wallet_id, shard, id) is read backwards from the newest entry,
    -- so the cost is the account's entries after p_at (nothing for an idle shard). The total sums the accounts.
    SELECT coalesce(sum(a.balance_after), 0)::bigint INTO v_balance
      FROM generate_series(0, v_wallet.shard_count) AS acct (shard)
     CROSS JOIN LATERAL (SELECT l.balance_after FROM lp.ledger AS l
                          WHERE l.wallet_id = v_wallet.id AND l.shard = acct.shard AND l.created_at <= p_at
                          ORDER BY l.id DESC
                          LIMIT 1) AS a;
    RETURN v_balance;
END
$$;
COMMENT ON FUNCTION api.balance_at(uuid, timestamptz) IS 'Total balance (main balance + credit shards) of a user''s wallet at a past time: for each account (main balance, each credit shard) the balance_after of its last ledger entry (by id) created at or before p_at (0 if none), summed. The acting user''s own wallet (default), or anyone''s for admins (LP003 otherwise); LP018 when p_at is missing or infinite. An entry''s time is its transaction''s start (created_at).';
REVOKE ALL ON FUNCTION api.balance_at(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.balance_at(uuid, timestamptz) TO livepanty_app, livepanty_service;
