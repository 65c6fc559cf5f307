CREATE FUNCTION api.balance_at(p_user_id uuid DEFAULT NULL, p_at timestamptz DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor   uuid := lp.require_user();
    v_target  uuid := coalesce(p_user_id, v_actor);
    v_wallet  lp.wallets;
    v_balance bigint;
    v_from    timestamptz;
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
    -- While ledger partitions reaching back to p_at are archived, that last entry may be in a file: the
    -- checkpoint at the newest boundary at or before p_at holds each account's last entry before it, which is
    -- the answer unless an entry still in the database comes later in the chain (a larger id). Refused when an
    -- archived partition reaches past that boundary (or there is none): the answer is only in the files.
    IF EXISTS (SELECT 1 FROM lp.archives AS a
                WHERE a.table_name = 'lp.ledger' AND a.restored_at IS NULL AND a.range_from <= p_at) THEN
        SELECT max(c.boundary) INTO v_from FROM lp.ledger_checkpoints AS c WHERE c.boundary <= p_at;
        IF v_from IS NULL OR EXISTS (SELECT 1 FROM lp.archives AS a
                                      WHERE a.table_name = 'lp.ledger' AND a.restored_at IS NULL
                                        AND a.range_from <= p_at AND a.range_to > v_from) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP198',
                MESSAGE = format('the ledger at %s is archived', p_at),
                DETAIL = format('ledger partitions up to %s are in archive files',
                                (SELECT max(a.range_to) FROM lp.archives AS a
                                  WHERE a.table_name = 'lp.ledger' AND a.restored_at IS NULL)),
                HINT = 'Ask for a later time, or restore the partitions (livepanty-db archive list, archive restore).';
        END IF;
    END IF;
    SELECT coalesce(sum(a.balance), 0)::bigint INTO v_balance
      FROM generate_series(0, v_wallet.shard_count) AS acct (shard)
     CROSS JOIN LATERAL (SELECT x.balance
                           FROM ((SELECT l.balance_after AS balance, l.id FROM lp.ledger AS l
                                   WHERE l.wallet_id = v_wallet.id AND l.shard = acct.shard AND l.created_at <= p_at
                                   ORDER BY l.id DESC
                                   LIMIT 1)
                                 UNION ALL
                                 SELECT c.balance, c.last_entry_id FROM lp.ledger_checkpoints AS c
                                  WHERE c.boundary = v_from AND c.wallet_id = v_wallet.id AND c.shard = acct.shard) AS x
                          ORDER BY x.id DESC
                          LIMIT 1) AS a;
    RETURN v_balance;
END
$$;
COMMENT ON FUNCTION api.balance_at(uuid, timestamptz) IS 'Total balance (main balance + credit shards) of a user''s wallet at a past time: for each account (main balance, each credit shard) the balance_after of its last ledger entry (by id) created at or before p_at (0 if none), summed. The acting user''s own wallet (default), or anyone''s for admins (LP003 otherwise); LP018 when p_at is missing or infinite. An entry''s time is its transaction''s start (created_at). While ledger partitions are archived, an account whose last entry by then is in a file gets its balance from the checkpoint at the newest archive boundary at or before p_at (the same answer as before the archive); LP198 when archived partitions reach past that boundary to p_at (the answer is only in the archive files).';
REVOKE ALL ON FUNCTION api.balance_at(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.balance_at(uuid, timestamptz) TO livepanty_app, livepanty_service;
