CREATE FUNCTION lp.post(
    p_transaction_id uuid,
    p_reference_type text,
    p_reference_id   uuid,
    p_postings       lp.posting[],
    p_description    text DEFAULT NULL,
    p_sweep          uuid DEFAULT NULL,
    p_wait           boolean DEFAULT false
) RETURNS bigint
    LANGUAGE plpgsql
AS $$
-- The one writer of balances, shards and the ledger; lock protocol: docs/ledger.md, "Lock protocol".
DECLARE
    n          integer;
    v_wallet   uuid[];
    v_amount   bigint[];
    v_release  bigint[];
    v_allow    boolean[];
    v_kind     text[];
    v_main     boolean[];
    v_settle   boolean[];
    v_count    smallint[];
    v_holding  boolean[];
    v_shard    smallint;
    v_after    bigint;
    v_moved    bigint;
    v_swept    bigint := 0::bigint;
    v_sweep    boolean;
    v_waiting  boolean;
    v_sweep_tx uuid;
    v_taken    record;
    v_due      uuid[];
    v_unbalanced boolean;
    v_mains    integer[];
    v_alone    boolean;
    i          integer;
    m          integer;
    -- the entries, written by one INSERT at the end; e counts them. Set by index, not appended: x := x || y
    -- copies the whole array every time, x[e] := y writes in place.
    e          integer := 0;
    e_tx       uuid[];
    e_sweep    boolean[];
    e_wallet   uuid[];
    e_shard    smallint[];
    e_amount   bigint[];
    e_after    bigint[];
    e_kind     text[];
BEGIN
    -- Entries are dated by the transaction's start: none from a transaction begun too long ago.
    IF statement_timestamp() > now() + interval '1 second' THEN
        PERFORM lp.refuse_old_transaction();
    END IF;
    IF p_postings IS NULL OR (cardinality(p_postings) < 2 AND NOT (cardinality(p_postings) = 0 AND p_sweep IS NOT NULL)) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'unbalanced ledger transaction',
            DETAIL = format('postings %s', p_postings);
    END IF;

    -- Every leg, with where it goes: the main balance (every debit or release of a user wallet, every movement
    -- of a user wallet without shards, every credit to a sharded user wallet in debt, which settles it) or a
    -- credit shard (the other credits; every posting of a system wallet). p_sweep adds a leg that only sweeps.
    -- Phase 2 order: user wallets before system wallets, then by wallet id, the main balance before the shards.
    -- One sort for every array: the sorted subquery (never flattened: it has an ORDER BY) feeds the aggregates
    -- in its order, where ten array_agg(... ORDER BY) would sort ten times. The arrays stay aligned whatever the
    -- order (one aggregate node reads each row once for all of them); the order itself is the lock order,
    -- which tests/sql/test_one_writer.sql checks.
    SELECT count(*)::integer, array_agg(l.wallet_id), array_agg(l.amount), array_agg(l.release),
           array_agg(l.allow_debt), array_agg(l.entry_kind), array_agg(l.on_main), array_agg(l.settle),
           array_agg(l.shard_count), array_agg(l.holding),
           -- balanced, and no posting of 0 tokens (checked here rather than in a statement of its own)
           coalesce(sum(l.amount), 0) <> 0 OR coalesce(bool_or(l.posted AND (l.amount IS NULL OR l.amount = 0)), false)
      INTO n, v_wallet, v_amount, v_release, v_allow, v_kind, v_main, v_settle, v_count, v_holding, v_unbalanced
      FROM (SELECT p.wallet_id, p.amount, coalesce(p.release_reserved, 0) AS release,
                   coalesce(p.allow_debt, false) AS allow_debt, p.entry_kind,
                   w.kind <> 'user' AS is_system, w.shard_count,
                   w.kind = 'user' AND (p.amount < 0 OR w.shard_count = 0 OR coalesce(p.release_reserved, 0) <> 0
                                        OR w.debt_since IS NOT NULL) AS on_main,
                   w.kind = 'user' AND p.amount > 0 AND w.shard_count > 0 AND w.debt_since IS NOT NULL AS settle,
                   w.reserved > 0 AS holding, true AS posted
              FROM unnest(p_postings) AS p
              JOIN lp.wallets AS w ON w.id = p.wallet_id
            UNION ALL
            SELECT w.id, 0::bigint, 0::bigint, false, 'sweep'::text, false, w.shard_count, true, true, false, false
              FROM lp.wallets AS w
             WHERE w.id = p_sweep AND w.kind = 'user'
             ORDER BY is_system, wallet_id, on_main DESC, amount) AS l;
    IF v_unbalanced THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'unbalanced ledger transaction',
            DETAIL = format('postings %s', p_postings);
    END IF;
    IF n <> cardinality(p_postings) + (p_sweep IS NOT NULL)::integer THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'posting to an unknown wallet (or sweeping a system one)';
    END IF;

    -- Phase 1: every main balance this transaction will change, in wallet id order, before any shard. When
    -- there is one, of a wallet without shards that reserves nothing (a viewer's tip or purchase), its own
    -- write is that lock, and the transaction is one statement (below; a debit it refuses is decided once more
    -- under that row's lock, and takes no other).
    v_mains := array_positions(v_main, true);
    v_alone := coalesce(p_sweep IS NULL AND cardinality(v_mains) = 1 AND v_count[v_mains[1]] = 0
                        AND NOT v_settle[v_mains[1]] AND NOT v_holding[v_mains[1]], false);
    -- ... and no wallet twice: two credits to one wallet with no second free shard would both get the shard this
    -- statement already holds (the waiting pick finds it), and one UPDATE writes a row once. The legs are
    -- sorted, so a repeat is adjacent.
    FOR k IN 2 .. n LOOP
        EXIT WHEN NOT v_alone;
        v_alone := v_wallet[k] <> v_wallet[k - 1];
    END LOOP;
    IF v_alone THEN
        -- The whole transaction in one statement (a viewer's tip or purchase): the main balance's guarded
        -- write (its row lock), then, only when it moved, a credit shard per other leg in phase 2 order (the
        -- picks reference the main row, so none runs before it: a shard nobody holds, or when all are busy a
        -- random one, waiting), then every entry. The same rules as lp.move_main (lp.may_move, lp.debt_since).
        m := v_mains[1];
        FOR attempt IN 1 .. 2 LOOP
            WITH main AS (
                UPDATE lp.wallets AS w
                   SET balance    = w.balance + v_amount[m],
                       reserved   = w.reserved - v_release[m],
                       debt_since = lp.debt_since(w.balance + v_amount[m], w.reserved - v_release[m], w.debt_since)
                 WHERE w.id = v_wallet[m]
                   AND w.kind = 'user'
                   AND lp.may_move(w.balance, w.reserved, v_amount[m], -v_release[m], v_allow[m])
                RETURNING w.balance AS after
            ), picked AS MATERIALIZED (
                -- once, leg after leg in the order of the arrays (the unnest is read in its ordinality order)
                SELECT c.k, c.wallet_id, c.amount, c.kind, f.shard
                  FROM main
                 CROSS JOIN unnest(v_wallet, v_amount, v_kind, v_main) WITH ORDINALITY
                       AS c (wallet_id, amount, kind, on_main, k)
                 -- the picks name main.after: that makes them run after the main row's UPDATE, whatever the join order
                 CROSS JOIN LATERAL (
                       SELECT coalesce((SELECT s.shard FROM lp.wallet_shards AS s
                                         WHERE s.wallet_id = c.wallet_id AND main.after IS NOT NULL
                                         ORDER BY s.shard LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED),
                                       -- random() in ORDER BY, drawn once per row (lp.post_batch says why)
                                       (SELECT s.shard FROM lp.wallet_shards AS s
                                         WHERE s.wallet_id = c.wallet_id AND main.after IS NOT NULL
                                         ORDER BY random() LIMIT 1 FOR NO KEY UPDATE)) AS shard) AS f
                 WHERE NOT c.on_main
            ), credited AS (
                UPDATE lp.wallet_shards AS s SET balance = s.balance + p.amount
                  FROM picked AS p
                 WHERE s.wallet_id = p.wallet_id AND s.shard = p.shard
                RETURNING p.k, s.wallet_id, s.shard, s.balance AS after, p.amount, p.kind
            )
            INSERT INTO lp.ledger (transaction_id, wallet_id, shard, amount, balance_before, balance_after, entry_kind,
                                   reference_type, reference_id, description)
            SELECT p_transaction_id, e.wallet_id, e.shard, e.amount, e.after - e.amount, e.after, e.kind,
                   p_reference_type, p_reference_id, p_description
              FROM (SELECT 0::bigint AS k, v_wallet[m] AS wallet_id, 0::smallint AS shard, v_amount[m] AS amount,
                           main.after, v_kind[m] AS kind
                      FROM main
                    UNION ALL
                    SELECT c.k, c.wallet_id, c.shard, c.amount, c.after, c.kind FROM credited AS c) AS e
             ORDER BY e.k;
            GET DIAGNOSTICS i = ROW_COUNT;
            IF i = n THEN
                RETURN 0::bigint;
            ELSIF i <> 0 THEN
                RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'wallet shard missing',
                    DETAIL = format('postings %s', p_postings);
            END IF;
            EXIT WHEN attempt = 2;
            -- The main balance refused the move, as this statement's snapshot saw it: a row the WHERE clause
            -- rejects is not waited for, so a writer in flight (a purchase crediting it) was not. The row locked
            -- (waiting for that writer), the statement runs once more on what the row then holds; refused again,
            -- the debit is refused having locked nothing but that row.
            PERFORM 1 FROM lp.wallets AS w WHERE w.id = v_wallet[m] FOR NO KEY UPDATE;
        END LOOP;
        PERFORM lp.refuse_debit(v_wallet[m], -v_amount[m]);
    END IF;
    PERFORM 1 FROM lp.wallets AS w
     WHERE w.id = ANY (ARRAY(SELECT v_wallet[k] FROM generate_subscripts(v_wallet, 1) AS k WHERE v_main[k]))
     ORDER BY w.id
       FOR NO KEY UPDATE;

    -- Holds of a debited wallet that are past their time give their tokens back first: what the wallet may
    -- spend must not stay reserved by a hold nobody can capture any more. SKIP LOCKED (a hold being captured
    -- or released right now is that transaction's business): a lock that never waits closes no cycle, and the
    -- holds' main balances are the ones phase 1 holds. Only wallets with reserved tokens can have an open hold
    -- (a hold reserves in the transaction that creates it, and a new hold is never due), so most debits skip it.
    IF true = ANY (v_holding) THEN
        SELECT array_agg(h.id) INTO v_due
          FROM lp.holds AS h
         WHERE h.wallet_id = ANY (ARRAY(SELECT v_wallet[k] FROM generate_subscripts(v_wallet, 1) AS k
                                         WHERE v_main[k] AND v_amount[k] < 0 AND v_holding[k]))
           AND h.status = 'open' AND lp.hold_due(h);
        IF v_due IS NOT NULL THEN
            PERFORM lp.expire_due_holds(v_due);
        END IF;
    END IF;

    -- Phase 2: the legs in order. A main-balance leg may sweep its own wallet's shards first (they come right
    -- after its main row in the order): a sweep-only leg and a credit that settles debt always do; a debit
    -- that finds the main balance short sweeps the idle shards, then, still short, waits for the busy ones.
    FOR i IN 1 .. n LOOP
        IF v_main[i] THEN
            v_shard := 0;
            v_sweep := v_settle[i];
            v_waiting := v_settle[i] AND p_wait;
            v_sweep_tx := NULL;
            LOOP
                IF v_sweep AND v_count[i] > 0 THEN
                    v_sweep_tx := coalesce(v_sweep_tx, CASE WHEN cardinality(p_postings) = 0 THEN p_transaction_id
                                                            ELSE gen_random_uuid() END);
                    IF v_waiting THEN
                        PERFORM 1 FROM lp.wallet_shards AS s WHERE s.wallet_id = v_wallet[i] ORDER BY s.shard
                           FOR NO KEY UPDATE;
                    END IF;
                    v_moved := 0;
                    FOR v_taken IN
                        WITH picked AS (
                            SELECT s.shard, s.balance FROM lp.wallet_shards AS s
                             WHERE s.wallet_id = v_wallet[i] AND s.balance <> 0
                             ORDER BY s.shard
                               FOR NO KEY UPDATE SKIP LOCKED
                        )
                        UPDATE lp.wallet_shards AS s SET balance = 0
                          FROM picked
                         WHERE s.wallet_id = v_wallet[i] AND s.shard = picked.shard
                        RETURNING picked.shard, picked.balance
                    LOOP
                        e := e + 1;
                        e_tx[e] := v_sweep_tx;  e_sweep[e] := true;
                        e_wallet[e] := v_wallet[i];  e_shard[e] := v_taken.shard;
                        e_amount[e] := -v_taken.balance;  e_after[e] := 0::bigint;
                        e_kind[e] := 'sweep';
                        v_moved := v_moved + v_taken.balance;
                    END LOOP;
                    IF v_moved <> 0 THEN
                        v_after := (lp.move_main(ARRAY[v_wallet[i]], ARRAY[v_moved], ARRAY[0::bigint], false))[1];
                        e := e + 1;
                        e_tx[e] := v_sweep_tx;  e_sweep[e] := true;
                        e_wallet[e] := v_wallet[i];  e_shard[e] := 0::smallint;
                        e_amount[e] := v_moved;  e_after[e] := v_after;
                        e_kind[e] := 'sweep';
                        v_swept := v_swept + v_moved;
                    END IF;
                END IF;
                EXIT WHEN v_amount[i] = 0;  -- a sweep-only leg
                v_after := (lp.move_main(ARRAY[v_wallet[i]], ARRAY[v_amount[i]], ARRAY[-v_release[i]], v_allow[i]))[1];
                EXIT WHEN v_after IS NOT NULL;
                IF v_count[i] = 0 OR v_waiting THEN
                    PERFORM lp.refuse_debit(v_wallet[i], -v_amount[i]);
                END IF;
                v_waiting := v_sweep;
                v_sweep := true;
            END LOOP;
            CONTINUE WHEN v_amount[i] = 0;
        ELSE
            -- A credit shard nobody holds, so concurrent credits to a hot wallet take different rows (the pick
            -- and the write in one statement); only when every shard is busy, queue behind a random one.
            -- (A CTE runs once: a subquery in FROM could be run again per row, and the row this very
            -- statement updated would then be skipped as locked, so a second shard would be picked too.)
            WITH free AS MATERIALIZED (
                SELECT f.shard FROM lp.wallet_shards AS f
                 WHERE f.wallet_id = v_wallet[i]
                 ORDER BY f.shard
                 LIMIT 1
                   FOR NO KEY UPDATE SKIP LOCKED
            )
            UPDATE lp.wallet_shards AS s SET balance = s.balance + v_amount[i]
              FROM free
             WHERE s.wallet_id = v_wallet[i] AND s.shard = free.shard
            RETURNING s.shard, s.balance INTO v_shard, v_after;
            IF NOT FOUND THEN
                v_shard := (1 + floor(random() * v_count[i]))::smallint;
                UPDATE lp.wallet_shards AS s SET balance = s.balance + v_amount[i]
                 WHERE s.wallet_id = v_wallet[i] AND s.shard = v_shard
                RETURNING s.balance INTO v_after;
                IF NOT FOUND THEN
                    RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'wallet shard missing',
                        DETAIL = format('wallet %s shard %s', v_wallet[i], v_shard);
                END IF;
            END IF;
        END IF;
        e := e + 1;
        e_tx[e] := p_transaction_id;  e_sweep[e] := false;
        e_wallet[e] := v_wallet[i];  e_shard[e] := v_shard;
        e_amount[e] := v_amount[i];  e_after[e] := v_after;
        e_kind[e] := v_kind[i];
    END LOOP;

    INSERT INTO lp.ledger (transaction_id, wallet_id, shard, amount, balance_before, balance_after, entry_kind,
                           reference_type, reference_id, description)
    SELECT e.tx, e.wallet_id, e.shard, e.amount, e.after - e.amount, e.after, e.kind,
           CASE WHEN e.sweep THEN 'sweep' ELSE p_reference_type END,
           CASE WHEN e.sweep THEN e.wallet_id ELSE p_reference_id END,
           CASE WHEN e.sweep THEN NULL ELSE p_description END
      FROM unnest(e_tx, e_sweep, e_wallet, e_shard, e_amount, e_after, e_kind)
           AS e (tx, sweep, wallet_id, shard, amount, after, kind);
    RETURN v_swept;
END
$$;
COMMENT ON FUNCTION lp.post(uuid, text, uuid, lp.posting[], text, uuid, boolean) IS 'The one writer of balances, credit shards and the ledger: applies a balanced set of postings (they must sum to zero: LP199 otherwise) under the lock protocol of docs/ledger.md and appends one ledger entry per posting with the exact before/after balance of the account it touched. Holds of a debited wallet that are past their time are expired first. A debit that finds the main balance short first sweeps the wallet''s credit shards into it (its own ledger transaction, reference sweep); a credit to a sharded wallet in debt sweeps too, so the debt clears at once. With p_sweep and no postings it only sweeps that user wallet (the idle shards; all of them, waiting, with p_wait). Returns the tokens swept. LP100 insufficient available balance, LP107 wallet in debt.';
REVOKE ALL ON FUNCTION lp.post(uuid, text, uuid, lp.posting[], text, uuid, boolean) FROM PUBLIC;
