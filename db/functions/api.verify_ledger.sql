CREATE FUNCTION api.verify_ledger(
    p_wallet_from uuid DEFAULT NULL,
    p_wallet_to   uuid DEFAULT NULL,
    p_global      boolean DEFAULT true,
    p_transactions boolean DEFAULT true
)
RETURNS TABLE (check_name text, wallet_id uuid, shard smallint, transaction_id uuid, detail text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET jit = off  -- compiling the big chunk queries costs more than it saves
AS $$
DECLARE
    v_from   uuid := coalesce(p_wallet_from, '00000000-0000-0000-0000-000000000000');
    v_to     uuid := coalesce(p_wallet_to, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
    v_escrow uuid;
    -- Archived partitions (lp.archives): entries before the boundary are in files; each account's chain then
    -- starts from its balance in the sealed checkpoint at the boundary (lp.ledger_checkpoints).
    v_boundary timestamptz := lp.archive_boundary();
    v_since    timestamptz := coalesce(lp.archive_boundary(), '-infinity');
BEGIN
    PERFORM lp.verify_authorize();
    IF v_from > v_to THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'wallet_from must not be greater than wallet_to';
    END IF;
    v_escrow := lp.system_wallet('goal_escrow');

    -- (b) Per account (wallet, shard), entries in id order form an unbroken chain: the first starts at 0, each
    -- starts where the previous ended, each ends at start + amount. (c) The account's last balance_after and
    -- the sum of its amounts equal its current balance (lp.wallets.balance for shard 0, lp.wallet_shards for
    -- the credit shards; no entries: balance 0); entries of an account that does not exist are reported.
    -- One pass over ledger_account_chain_idx (wallet_id, shard, id) INCLUDE (amount, balance_before,
    -- balance_after, created_at): an index-only scan in chain order, the window needs no sort.
    RETURN QUERY
    WITH w AS (
        SELECT l.id, l.created_at AS at, l.wallet_id AS w_id, l.shard AS sh, l.amount,
               l.balance_before AS bb, l.balance_after AS ba,
               lag(l.balance_after) OVER acct AS prev_after,
               lead(l.id) OVER acct IS NULL AS is_last,
               sum(l.amount) OVER acct AS running_sum
          FROM lp.ledger AS l
         WHERE l.wallet_id BETWEEN v_from AND v_to AND l.created_at >= v_since
        WINDOW acct AS (PARTITION BY l.wallet_id, l.shard ORDER BY l.id)
    ), e AS MATERIALIZED (
        -- only the rows a check below reads: each account's first and last entry and the broken ones (the
        -- chain index does not carry the transaction id: lp.entry_transaction looks it up for a reported row)
        SELECT w.* FROM w
         WHERE w.prev_after IS NULL OR w.is_last OR w.bb <> w.prev_after OR w.ba <> w.bb + w.amount
    ), accounts AS (
        SELECT w.id AS w_id, 0::smallint AS sh, w.balance AS bal
          FROM lp.wallets AS w WHERE w.id BETWEEN v_from AND v_to
        UNION ALL
        SELECT s.wallet_id, s.shard, s.balance
          FROM lp.wallet_shards AS s WHERE s.wallet_id BETWEEN v_from AND v_to
    ), cp AS (
        SELECT c.wallet_id AS w_id, c.shard AS sh, c.balance AS bal
          FROM lp.ledger_checkpoints AS c
         WHERE c.boundary = v_boundary AND c.wallet_id BETWEEN v_from AND v_to
    )
    SELECT 'chain_start'::text, e.w_id, e.sh, lp.entry_transaction(e.id, e.at),
           format('entry %s: first entry of the account starts at %s, not %s', e.id, e.bb, coalesce(cp.bal, 0))
      FROM e LEFT JOIN cp ON cp.w_id = e.w_id AND cp.sh = e.sh
     WHERE e.prev_after IS NULL AND e.bb <> coalesce(cp.bal, 0)
    UNION ALL
    SELECT 'chain_broken', e.w_id, e.sh, lp.entry_transaction(e.id, e.at),
           format('entry %s: balance_before %s, previous entry''s balance_after %s', e.id, e.bb, e.prev_after)
      FROM e WHERE e.bb <> e.prev_after
    UNION ALL
    SELECT 'entry_arithmetic', e.w_id, e.sh, lp.entry_transaction(e.id, e.at),
           format('entry %s: balance_before %s + amount %s <> balance_after %s', e.id, e.bb, e.amount, e.ba)
      FROM e WHERE e.ba <> e.bb + e.amount
    UNION ALL
    SELECT CASE WHEN a.w_id IS NULL THEN 'unknown_account' ELSE 'balance_mismatch' END,
           coalesce(a.w_id, x.w_id), coalesce(a.sh, x.sh), lp.entry_transaction(x.id, x.at),
           CASE WHEN a.w_id IS NULL THEN format('entries up to %s on an account that does not exist', x.id)
                WHEN x.w_id IS NULL THEN format('no entries, but the balance is %s (checkpoint %s)', a.bal,
                                                coalesce(k.bal, 0))
                ELSE format('last entry %s ends at %s, the balance is %s', x.id, x.ba, a.bal) END
      FROM accounts AS a
      FULL JOIN (SELECT * FROM e WHERE e.is_last) AS x ON x.w_id = a.w_id AND x.sh = a.sh
      LEFT JOIN cp AS k ON k.w_id = a.w_id AND k.sh = a.sh
     WHERE a.w_id IS NULL OR (x.w_id IS NULL AND a.bal <> coalesce(k.bal, 0)) OR x.ba <> a.bal
    UNION ALL
    SELECT 'sum_mismatch', a.w_id, a.sh, NULL::uuid,
           format('entries sum to %s from the checkpoint''s %s, the balance is %s', x.running_sum, coalesce(k.bal, 0),
                  a.bal)
      FROM accounts AS a
      JOIN e AS x ON x.w_id = a.w_id AND x.sh = a.sh AND x.is_last
      LEFT JOIN cp AS k ON k.w_id = a.w_id AND k.sh = a.sh
     WHERE x.running_sum + coalesce(k.bal, 0) <> a.bal;

    -- (d) No user main balance below its reserved tokens unless the wallet is in recorded debt, no negative
    -- credit shard of a user wallet. (e) Reserved equals the tokens still held by the wallet's open holds.
    RETURN QUERY
    SELECT 'negative_balance'::text, w.id, 0::smallint, NULL::uuid,
           format('balance %s, reserved %s, not in debt', w.balance, w.reserved)
      FROM lp.wallets AS w
     WHERE w.id BETWEEN v_from AND v_to AND w.kind = 'user' AND w.debt_since IS NULL AND w.balance < w.reserved
    UNION ALL
    SELECT 'negative_balance', s.wallet_id, s.shard, NULL::uuid, format('credit shard balance %s', s.balance)
      FROM lp.wallet_shards AS s JOIN lp.wallets AS w ON w.id = s.wallet_id
     WHERE s.wallet_id BETWEEN v_from AND v_to AND w.kind = 'user' AND s.balance < 0
    UNION ALL
    SELECT 'reserved_mismatch', w.id, 0::smallint, NULL::uuid,
           format('reserved %s, open holds hold %s', w.reserved, coalesce(h.held, 0))
      FROM lp.wallets AS w
      LEFT JOIN (SELECT hd.wallet_id AS w_id, sum(hd.amount - hd.captured) AS held
                   FROM lp.holds AS hd
                  WHERE hd.status = 'open' AND hd.wallet_id BETWEEN v_from AND v_to
                  GROUP BY hd.wallet_id) AS h ON h.w_id = w.id
     WHERE w.id BETWEEN v_from AND v_to AND w.reserved <> coalesce(h.held, 0);

    -- (a) and (g): the transaction pass over the whole time line (api.verify_ledger_period); a chunked
    -- verification passes p_transactions => false and checks the periods of api.ledger_periods instead.
    IF p_transactions THEN
        RETURN QUERY SELECT * FROM api.verify_ledger_period(NULL, NULL);
    END IF;

    -- (f) Global: the balances of every account, users and system wallets, sum to zero: tokens issued minus
    -- tokens burned (the issuance wallet's balance, negated) equals the tokens held everywhere else.
    IF p_global THEN
        RETURN QUERY
        SELECT 'tokens_not_conserved'::text, NULL::uuid, NULL::smallint, NULL::uuid,
               format('balances sum to %s (main %s, shards %s); see api.ledger_totals()', m.total + s.total,
                      m.total, s.total)
          FROM (SELECT coalesce(sum(w.balance), 0) AS total FROM lp.wallets AS w) AS m,
               (SELECT coalesce(sum(ws.balance), 0) AS total FROM lp.wallet_shards AS ws) AS s
         WHERE m.total + s.total <> 0;
        -- The goal escrow holds exactly the tips waiting in it (a cross-shard tip of a sharded installation,
        -- lp.transfers_in of the same id, less the fee its sender's shard kept).
        RETURN QUERY
        SELECT 'escrow_mismatch'::text, v_escrow, NULL::smallint, NULL::uuid,
               format('goal_escrow holds %s tokens, escrowed tips add up to %s', e.held, t.waiting)
          FROM (SELECT (SELECT w.balance FROM lp.wallets AS w WHERE w.id = v_escrow)
                       + (SELECT coalesce(sum(ws.balance), 0) FROM lp.wallet_shards AS ws WHERE ws.wallet_id = v_escrow)
                       AS held) AS e,
               (SELECT coalesce(sum(coalesce(i.amount, tp.amount)), 0) AS waiting
                  FROM lp.tips AS tp
                  LEFT JOIN lp.transfers_in AS i ON i.id = tp.id AND i.hold_id IS NULL AND i.refund_of IS NULL
                 WHERE tp.status = 'escrowed') AS t
         WHERE e.held <> t.waiting;
        -- The checkpoint the chains start from is the one sealed when its partitions were archived.
        RETURN QUERY
        SELECT 'checkpoint_seal'::text, NULL::uuid, NULL::smallint, NULL::uuid,
               format('checkpoint at %s: %s accounts, sha256 %s; archive %s sealed %s accounts, %s', v_boundary,
                      d.accounts, d.sha256, a.partition_name, a.checkpoint_accounts, a.checkpoint_sha256)
          FROM lp.archives AS a CROSS JOIN lp.checkpoint_digest(v_boundary) AS d
         WHERE a.boundary = v_boundary AND a.restored_at IS NULL
           AND (d.sha256 <> a.checkpoint_sha256 OR d.accounts <> a.checkpoint_accounts);
    END IF;
END
$$;
COMMENT ON FUNCTION api.verify_ledger(uuid, uuid, boolean, boolean) IS 'Checks the ledger''s invariants and returns one row per violation found (no rows: the ledger is sound); never raises for a violation. check_name: transaction_unbalanced (a transaction''s entries do not sum to 0), chain_start / chain_broken / entry_arithmetic (an account''s before/after chain: starts at 0, each entry starts where the previous ended, after = before + amount), balance_mismatch / sum_mismatch (an account''s last balance_after / sum of amounts differs from its current balance), unknown_account (entries on a shard that does not exist), negative_balance (a user main balance below its reserved tokens without recorded debt, or a negative user credit shard), reserved_mismatch (reserved differs from the open holds), tip_transaction / hold_capture_transaction (a tip names a sender or recipient without a wallet, or a tip''s or capture''s ledger transaction is missing or has the wrong legs; on a shard of a sharded installation also each side of a tip across shards), tip_settlement (the payout or refund of a tip held in escrow for a goal has the wrong legs; across shards also the refund''s outbox row and its arrival on the sender''s shard), tokens_not_conserved (global: all balances do not sum to 0), escrow_mismatch (global: the goal_escrow wallet does not hold exactly the escrowed tips), checkpoint_seal (global: the checkpoint the chains start from no longer matches its seal). While ledger partitions are archived (livepanty-db archive), entries, tips and hold captures created before the archive boundary are in the archive files: each account''s chain starts from its balance in the checkpoint at the boundary instead of 0. p_wallet_from / p_wallet_to (inclusive, NULL = open) restrict the account checks (chains, balances, reserves) to the wallets in that id range; p_transactions runs the transaction checks (transaction_unbalanced, tip_transaction, tip_settlement, hold_capture_transaction) over every period, whatever the range: they are api.verify_ledger_period(NULL, NULL); p_global runs the global check. A large ledger is verified chunk by chunk: the wallet chunks of api.ledger_stats with p_transactions => false (and p_global on one of them), and the periods of api.ledger_periods with api.verify_ledger_period (docs/ledger.md, "Verification"). The livepanty_service role, or an acting admin (LP001 / LP002 otherwise); LP018 when wallet_from > wallet_to.';
REVOKE ALL ON FUNCTION api.verify_ledger(uuid, uuid, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.verify_ledger(uuid, uuid, boolean, boolean) TO livepanty_app, livepanty_service;
