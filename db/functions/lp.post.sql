CREATE FUNCTION lp.post(
    p_transaction_id uuid,
    p_reference_type text,
    p_reference_id   uuid,
    p_postings       lp.posting[],
    p_description    text DEFAULT NULL
) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_leg      record;
    v_shard    smallint;
    v_after    bigint;
    v_wallets  uuid[] := ARRAY[]::uuid[];
    v_shards   smallint[] := ARRAY[]::smallint[];
    v_amounts  bigint[] := ARRAY[]::bigint[];
    v_afters   bigint[] := ARRAY[]::bigint[];
    v_kinds    text[] := ARRAY[]::text[];
BEGIN
    IF p_postings IS NULL OR cardinality(p_postings) < 2
       OR (SELECT sum(p.amount) FROM unnest(p_postings) AS p) <> 0
       OR EXISTS (SELECT 1 FROM unnest(p_postings) AS p WHERE p.amount IS NULL OR p.amount = 0) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'unbalanced ledger transaction',
            DETAIL = format('postings %s', p_postings);
    END IF;

    -- Lock order (no deadlocks, docs/ledger.md): one global order, by wallet id, and within a wallet the main
    -- balance before its shards. Each posting takes, in that order, either
    --   the wallet's main balance (lp.wallets row): every debit of a user wallet, and every movement of a
    --     wallet without shards; the only rows that are checked (available balance); a debit that finds the
    --     main balance short sweeps the wallet's own shards into it first (they come after the main row);
    --   or one credit shard, picked with SKIP LOCKED so that concurrent credits to a hot wallet (a popular
    --     performer, the fee wallet) take different rows.
    -- System wallets always post to a shard; user wallets post debits to the main balance and credits to a
    -- shard when they have shards.
    FOR v_leg IN
        SELECT p.*, w.kind, w.shard_count,
               (w.kind = 'user' AND (p.amount < 0 OR w.shard_count = 0 OR coalesce(p.release_reserved, 0) <> 0))
                   AS on_main
          FROM unnest(p_postings) AS p
          JOIN lp.wallets AS w ON w.id = p.wallet_id
         ORDER BY p.wallet_id, on_main DESC, p.amount
    LOOP
        IF v_leg.on_main THEN
            v_shard := 0;
            UPDATE lp.wallets AS w
               SET balance    = w.balance + v_leg.amount,
                   reserved   = w.reserved - coalesce(v_leg.release_reserved, 0),
                   debt_since = CASE WHEN w.balance + v_leg.amount < w.reserved - coalesce(v_leg.release_reserved, 0)
                                     THEN coalesce(w.debt_since, now()) END
             WHERE w.id = v_leg.wallet_id
               AND (v_leg.amount > 0 OR coalesce(v_leg.allow_debt, false)
                    OR w.balance + v_leg.amount >= w.reserved - coalesce(v_leg.release_reserved, 0))
            RETURNING w.balance INTO v_after;
            IF NOT FOUND AND v_leg.shard_count > 0 THEN
                -- Earnings wait in the credit shards: sweep them into the main balance, then try again;
                -- if shards busy with concurrent credits were skipped and it is still short, wait for them.
                PERFORM lp.sweep_wallet(v_leg.wallet_id);
                IF (SELECT w.balance + v_leg.amount < w.reserved - coalesce(v_leg.release_reserved, 0)
                      FROM lp.wallets AS w WHERE w.id = v_leg.wallet_id) THEN
                    PERFORM lp.sweep_wallet(v_leg.wallet_id, true);
                END IF;
                UPDATE lp.wallets AS w
                   SET balance    = w.balance + v_leg.amount,
                       reserved   = w.reserved - coalesce(v_leg.release_reserved, 0),
                       debt_since = CASE WHEN w.balance + v_leg.amount < w.reserved - coalesce(v_leg.release_reserved, 0)
                                         THEN coalesce(w.debt_since, now()) END
                 WHERE w.id = v_leg.wallet_id
                   AND w.balance + v_leg.amount >= w.reserved - coalesce(v_leg.release_reserved, 0)
                RETURNING w.balance INTO v_after;
            END IF;
            IF NOT FOUND THEN
                IF EXISTS (SELECT 1 FROM lp.wallets AS w WHERE w.id = v_leg.wallet_id AND w.debt_since IS NOT NULL) THEN
                    RAISE EXCEPTION USING ERRCODE = 'LP107', MESSAGE = 'the wallet is in debt and cannot spend',
                        HINT = 'Buy tokens to settle the debt first.';
                END IF;
                RAISE EXCEPTION USING ERRCODE = 'LP100', MESSAGE = 'insufficient available balance',
                    DETAIL = format('%s tokens needed', -v_leg.amount);
            END IF;
        ELSE
            SELECT s.shard INTO v_shard
              FROM lp.wallet_shards AS s
             WHERE s.wallet_id = v_leg.wallet_id
             ORDER BY s.shard
             LIMIT 1
               FOR UPDATE SKIP LOCKED;
            IF v_shard IS NULL THEN
                -- Every shard is busy: queue behind a random one.
                v_shard := (1 + floor(random() * v_leg.shard_count))::smallint;
            END IF;
            UPDATE lp.wallet_shards AS s SET balance = s.balance + v_leg.amount
             WHERE s.wallet_id = v_leg.wallet_id AND s.shard = v_shard
            RETURNING s.balance INTO v_after;
            IF NOT FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'wallet shard missing',
                    DETAIL = format('wallet %s shard %s', v_leg.wallet_id, v_shard);
            END IF;
        END IF;
        v_wallets := v_wallets || v_leg.wallet_id;
        v_shards  := v_shards || v_shard;
        v_amounts := v_amounts || v_leg.amount;
        v_afters  := v_afters || v_after;
        v_kinds   := v_kinds || v_leg.entry_kind;
    END LOOP;

    IF cardinality(v_wallets) <> cardinality(p_postings) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'posting to an unknown wallet';
    END IF;

    INSERT INTO lp.ledger (transaction_id, wallet_id, shard, amount, balance_before, balance_after, entry_kind,
                           reference_type, reference_id, description)
    SELECT p_transaction_id, e.wallet_id, e.shard, e.amount, e.after - e.amount, e.after, e.kind,
           p_reference_type, p_reference_id, p_description
      FROM unnest(v_wallets, v_shards, v_amounts, v_afters, v_kinds) AS e (wallet_id, shard, amount, after, kind);
END
$$;
COMMENT ON FUNCTION lp.post(uuid, text, uuid, lp.posting[], text) IS 'The one way tokens move: applies a balanced set of postings (they must sum to zero: LP199 otherwise) under the deterministic lock order of docs/ledger.md and appends one ledger entry per posting with the exact before/after balance of the account it touched. LP100 insufficient available balance, LP107 wallet in debt.';
REVOKE ALL ON FUNCTION lp.post(uuid, text, uuid, lp.posting[], text) FROM PUBLIC;
