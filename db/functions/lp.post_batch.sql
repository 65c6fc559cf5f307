CREATE FUNCTION lp.post_batch(
    p_reference_type text,
    p_transaction    uuid[],
    p_reference      uuid[],
    p_wallet         uuid[],
    p_amount         bigint[],
    p_kind           text[],
    p_on_main        boolean[]
) RETURNS void
    LANGUAGE plpgsql
AS $$
-- The set-based sibling of lp.post, for many small transactions at once (api.tip_many): same lock protocol
-- (docs/ledger.md), same writers (lp.move_main for main balances), no sweeps. Leg k is (transaction, reference,
-- wallet, amount, kind, on_main); the legs of each transaction sum to zero. The caller decided which legs go to a
-- main balance and checked that every debit is covered (it holds those wallets' main rows); a debit that is not
-- covered anyway is a bug (LP199).
DECLARE
    v_n       integer := cardinality(p_wallet);
    v_missing boolean;
    v_mains   uuid[];
    v_afters  bigint[];
    v_sw      uuid[];
    v_ss      smallint[];
BEGIN
    IF v_n IS NULL OR v_n = 0 THEN
        RETURN;
    END IF;
    -- Entries are dated by the transaction's start: none from a transaction begun too long ago (lp.post).
    IF statement_timestamp() > now() + interval '1 second' THEN
        PERFORM lp.refuse_old_transaction();
    END IF;
    IF cardinality(p_transaction) <> v_n OR cardinality(p_reference) <> v_n OR cardinality(p_amount) <> v_n
       OR cardinality(p_kind) <> v_n OR cardinality(p_on_main) <> v_n OR array_position(p_wallet, NULL) IS NOT NULL
       OR EXISTS (SELECT 1 FROM unnest(p_transaction, p_amount) AS l (tx, amount)
                   GROUP BY l.tx HAVING sum(l.amount) <> 0 OR bool_or(l.amount IS NULL OR l.amount = 0)) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'unbalanced ledger transaction in a batch';
    END IF;

    -- Phase 1: the main balances, in wallet id order (the caller already holds them: no wait).
    SELECT array_agg(m.wallet_id ORDER BY m.wallet_id) INTO v_mains
      FROM (SELECT DISTINCT l.wallet_id FROM unnest(p_wallet, p_on_main) AS l (wallet_id, on_main)
             WHERE l.on_main) AS m;
    PERFORM 1 FROM lp.wallets AS w WHERE w.id = ANY (v_mains) ORDER BY w.id FOR NO KEY UPDATE;
    SELECT lp.move_main(array_agg(t.wallet_id ORDER BY t.wallet_id), array_agg(t.total ORDER BY t.wallet_id),
                        array_agg(0::bigint), false) INTO v_afters
      FROM (SELECT l.wallet_id, sum(l.amount)::bigint AS total
              FROM unnest(p_wallet, p_amount, p_on_main) AS l (wallet_id, amount, on_main)
             WHERE l.on_main
             GROUP BY l.wallet_id) AS t;
    IF EXISTS (SELECT 1 FROM unnest(v_afters) AS a WHERE a IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'a batched debit was not covered',
            HINT = 'The caller must lock and check every debited wallet first.';
    END IF;

    -- Phase 2: one credit shard per credited wallet, user wallets before system wallets, then by id; a shard
    -- nobody holds, or, when all are busy, a random one (waiting for it). One statement: the sorted subquery is
    -- not flattened, so the lateral pick runs wallet after wallet in that order, and COALESCE asks for the
    -- random shard (and waits) only when the first pick found every shard busy, before the next wallet's.
    SELECT array_agg(w.id ORDER BY w.n), array_agg(f.shard ORDER BY w.n), bool_or(f.shard IS NULL)
      INTO v_sw, v_ss, v_missing
      FROM (SELECT x.id, x.shard_count, row_number() OVER (ORDER BY x.kind <> 'user', x.id) AS n
              FROM lp.wallets AS x
             WHERE x.id = ANY (ARRAY(SELECT l.wallet_id FROM unnest(p_wallet, p_on_main) AS l (wallet_id, on_main)
                                      WHERE NOT l.on_main))
             ORDER BY x.kind <> 'user', x.id) AS w
     CROSS JOIN LATERAL (
           SELECT coalesce((SELECT s.shard FROM lp.wallet_shards AS s
                             WHERE s.wallet_id = w.id ORDER BY s.shard LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED),
                           -- random() in ORDER BY, drawn once per row: in WHERE it would be drawn again for
                           -- every row compared, and could match none
                           (SELECT s.shard FROM lp.wallet_shards AS s
                             WHERE s.wallet_id = w.id ORDER BY random() LIMIT 1 FOR NO KEY UPDATE)) AS shard) AS f;
    IF coalesce(cardinality(v_sw), 0)
       <> (SELECT count(DISTINCT l.wallet_id) FROM unnest(p_wallet, p_on_main) AS l (wallet_id, on_main)
            WHERE NOT l.on_main) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'posting to an unknown wallet in a batch';
    END IF;
    IF v_missing THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'wallet shard missing',
            DETAIL = format('wallet %s has no credit shard', v_sw[array_position(v_ss, NULL)]);
    END IF;

    -- The writes of the shards and the entries, each in one statement. Per account, the entries chain in leg
    -- order: the first starts at the balance before the batch (new balance - the batch's total).
    WITH legs AS (
        SELECT l.k, l.tx, l.ref, l.wallet_id, l.amount, l.kind, l.on_main
          FROM unnest(p_transaction, p_reference, p_wallet, p_amount, p_kind, p_on_main)
               WITH ORDINALITY AS l (tx, ref, wallet_id, amount, kind, on_main, k)
    ), picked AS (
        SELECT p.wallet_id, p.shard FROM unnest(v_sw, v_ss) AS p (wallet_id, shard)
    ), shard_totals AS (
        SELECT p.wallet_id, p.shard, sum(l.amount)::bigint AS total
          FROM legs AS l JOIN picked AS p ON p.wallet_id = l.wallet_id
         WHERE NOT l.on_main
         GROUP BY p.wallet_id, p.shard
    ), shards AS (
        UPDATE lp.wallet_shards AS s SET balance = s.balance + t.total
          FROM shard_totals AS t
         WHERE s.wallet_id = t.wallet_id AND s.shard = t.shard
        RETURNING s.wallet_id, s.shard, s.balance AS after, t.total
    ), main_totals AS (
        SELECT l.wallet_id, sum(l.amount)::bigint AS total FROM legs AS l WHERE l.on_main GROUP BY l.wallet_id
    ), accounts AS (
        SELECT s.wallet_id, s.shard, false AS on_main, s.after - s.total AS start FROM shards AS s
        UNION ALL
        SELECT m.wallet_id, 0::smallint, true, m.after - t.total
          FROM unnest(v_mains, v_afters) AS m (wallet_id, after)
          JOIN main_totals AS t ON t.wallet_id = m.wallet_id
    )
    INSERT INTO lp.ledger (transaction_id, wallet_id, shard, amount, balance_before, balance_after, entry_kind,
                           reference_type, reference_id)
    SELECT l.tx, l.wallet_id, a.shard, l.amount,
           a.start + sum(l.amount) OVER acct - l.amount, a.start + sum(l.amount) OVER acct,
           l.kind, p_reference_type, l.ref
      FROM legs AS l
      JOIN accounts AS a ON a.wallet_id = l.wallet_id AND a.on_main = l.on_main
    WINDOW acct AS (PARTITION BY l.wallet_id, l.on_main ORDER BY l.k ROWS UNBOUNDED PRECEDING)
     ORDER BY l.k;
END
$$;
COMMENT ON FUNCTION lp.post_batch(text, uuid[], uuid[], uuid[], bigint[], text[], boolean[]) IS 'Owner-only, the set-based sibling of lp.post (api.tip_many): applies many balanced ledger transactions at once under the same lock protocol: each main balance updated once (lp.move_main), one credit shard per credited wallet, one INSERT of every entry with its exact before/after balance in leg order. The caller locks and checks the debited wallets first; LP199 when a transaction is unbalanced, a leg names no wallet or an unknown one, or a debit is not covered.';
REVOKE ALL ON FUNCTION lp.post_batch(text, uuid[], uuid[], uuid[], bigint[], text[], boolean[]) FROM PUBLIC;
