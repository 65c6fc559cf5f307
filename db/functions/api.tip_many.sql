CREATE FUNCTION api.tip_many(p_tips jsonb)
RETURNS TABLE (
    ordinal        integer,
    tip_id         uuid,
    sender_id      uuid,
    recipient_id   uuid,
    amount         bigint,
    fee_amount     bigint,
    transaction_id uuid,
    created_at     timestamptz,
    replayed       boolean,
    error_code     text,
    error_message  text
)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
#variable_conflict use_column
-- Many tips, of many senders, in one transaction and a handful of statements; each tip carries its sender's
-- session token and gets its own result. Lock protocol: docs/ledger.md (idempotency claims, then main
-- balances, then shards, through lp.post_batch).
DECLARE
    -- the settings a call needs (the fraud controls' may be absent: 0, off), read with the fee wallet at once
    c_needed  constant text[] := ARRAY['events.wake_up', 'money.max_tokens', 'tips.fee_bps', 'tips.max_tokens',
                                       'tips.min_tokens'];
    v_cfg     jsonb;
    v_min     bigint;
    v_max     bigint;
    v_bps     bigint;
    v_fees    uuid;
    v_escrow  uuid;
    v_goal    record;
    v_total   bigint;
    n         integer;
    -- one slot per tip, in input order
    a_sender  uuid[];
    a_session uuid[];
    a_to      uuid[];
    a_amount  bigint[];
    a_key     text[];
    a_stream  uuid[];
    a_message text[];
    a_anon    boolean[];
    a_from_w  uuid[];
    a_to_w    uuid[];
    a_to_main boolean[];
    a_sharded boolean[];
    a_err     text[];
    a_tip     uuid[];
    a_tx      uuid[];
    a_fee     bigint[];
    a_at      timestamptz[];
    a_replay  boolean[];
    a_goal    uuid[];
    a_escrow  boolean[];
    a_menu    uuid[];
    a_item    text[];
    v_first   integer[];
    -- the senders' locked main balances
    v_wallets uuid[];
    v_avail   bigint[];
    v_debt    boolean[];
    v_left    bigint;
    v_taken   integer;
    v_pos     integer;
    v_refused uuid[] := ARRAY[]::uuid[];
    -- the streams the tips name that step 0 locked (FOR SHARE)
    v_locked  uuid[];
    -- the fraud controls (lp.count_spend's rules, per sender): counters locked in user id order; a counter
    -- already in a later hour or day (a transaction begun after this one counted first) stays there and counts
    -- these tips too, as lp.count_spend does
    v_hour    timestamptz := date_trunc('hour', now(), 'UTC');
    v_day     timestamptz := date_trunc('day', now(), 'UTC');
    f_user    uuid[];
    f_count   integer[];
    f_tokens  bigint[];
    f_new     boolean[];
    v_fraud   record;
    v_old     lp.tips;
    -- the legs for lp.post_batch
    l_tx      uuid[];
    l_ref     uuid[];
    l_wallet  uuid[];
    l_amount  bigint[];
    l_kind    text[];
    l_main    boolean[];
BEGIN
    SELECT (SELECT jsonb_object_agg(s.key, s.value) FROM lp.settings AS s
             WHERE s.key = ANY (c_needed || ARRAY['fraud.new_account_days', 'fraud.new_account_max_tip',
                                                  'fraud.new_account_daily_tip_tokens', 'fraud.tips_per_hour'])),
           (SELECT w.id FROM lp.wallets AS w WHERE w.system_code = 'platform_fees')
      INTO v_cfg, v_fees;
    IF v_cfg IS NULL OR NOT v_cfg ?& c_needed THEN
        PERFORM lp.setting(k) FROM unnest(c_needed) AS k;  -- raises LP091, naming the missing setting
    END IF;
    IF v_fees IS NULL THEN
        PERFORM lp.system_wallet('platform_fees');  -- raises LP199
    END IF;
    v_min := greatest((v_cfg -> 'tips.min_tokens')::bigint, 1);
    v_max := least((v_cfg -> 'tips.max_tokens')::bigint, (v_cfg -> 'money.max_tokens')::bigint);
    v_bps := (v_cfg -> 'tips.fee_bps')::bigint;
    IF p_tips IS NULL OR jsonb_typeof(p_tips) <> 'array' OR jsonb_array_length(p_tips) NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'tips must be a JSON array of 1 to 1000 tips';
    END IF;

    -- 0. The streams the tips name, FOR SHARE and in id order (as api.tip takes its one): api.end_stream waits
    -- for this batch, and the read below, a new statement, sees any stream that ended before. Only a stream
    -- that a tip naming it may see (lp.stream_visible's rule for the sender of that tip's session, as the read
    -- below checks it per tip; a public one at once): as api.tip, a stream the sender may not see is neither
    -- locked nor waited for (a wait would tell that it exists, and hold a private stream's ending up). The read
    -- below finds only the streams locked here (v_locked): a stream made visible in between is not found.
    SELECT coalesce(array_agg(l.id), ARRAY[]::uuid[]) INTO v_locked
      FROM (SELECT s.id FROM lp.streams AS s
             WHERE s.id IN (SELECT lp.as_uuid(e.j ->> 'stream_id') FROM jsonb_array_elements(p_tips) AS e (j)
                             WHERE jsonb_typeof(e.j -> 'stream_id') = 'string')
               AND s.deleted_at IS NULL
               AND (s.visibility = 'public'
                    OR EXISTS (SELECT 1
                                 FROM (SELECT e.j ->> 'session_token' AS token
                                         FROM jsonb_array_elements(p_tips) AS e (j)
                                        WHERE jsonb_typeof(e.j -> 'stream_id') = 'string'
                                          AND lp.as_uuid(e.j ->> 'stream_id') = s.id
                                          AND jsonb_typeof(e.j -> 'session_token') = 'string'
                                          AND char_length(e.j ->> 'session_token') = 43) AS n
                                 JOIN lp.auth_sessions AS a
                                   ON a.token_hash = lp.hash_token(n.token) AND a.revoked_at IS NULL
                                  AND a.expires_at > now()
                                 JOIN lp.users AS su ON su.id = a.user_id AND su.deleted_at IS NULL
                                WHERE s.host_id = su.id OR su.role IN ('moderator', 'admin')
                                   OR EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                                               WHERE sp.stream_id = s.id AND sp.performer_id = su.id)))
             ORDER BY s.id
               FOR SHARE OF s) AS l;
    -- Their active goals FOR KEY SHARE (as api.tip): api.settle_tip_goals does not miss one past its deadline
    -- while this batch, which counts toward it, is in flight. A goal being missed right now is waited for; the
    -- read below, a new statement, then finds it closed and the batch's tips count toward no goal.
    IF cardinality(v_locked) > 0 THEN
        PERFORM 1 FROM lp.tip_goals AS g
         WHERE g.stream_id = ANY (v_locked) AND g.status = 'active' AND (g.deadline IS NULL OR g.deadline > now())
         ORDER BY g.stream_id
           FOR KEY SHARE;
    END IF;

    -- 1. One validation read: parse, authenticate each tip's session, load sender, recipient, wallets, stream
    -- and any earlier tip with the same key. The checks run in api.tip's order; the first that fails decides.
    WITH input AS (
        SELECT e.k::integer AS k, e.j, jsonb_typeof(e.j) = 'object' AS is_object
          FROM jsonb_array_elements(p_tips) WITH ORDINALITY AS e (j, k)
    ), raw AS MATERIALIZED (
        -- MATERIALIZED: parsed and checked once per tip (inlined, the planner copied the whole "malformed"
        -- test, with its regular expressions, into every expression that used a typed column: ~17 times).
        SELECT x.k, x.is_object,
               CASE WHEN x.is_object AND jsonb_typeof(x.j -> 'session_token') = 'string' THEN x.j ->> 'session_token' END AS token,
               CASE WHEN x.is_object THEN x.j ->> 'recipient_id' END AS recipient,
               CASE WHEN x.is_object AND jsonb_typeof(x.j -> 'amount') = 'number' THEN x.j ->> 'amount' END AS amount,
               CASE WHEN x.is_object THEN nullif(btrim(x.j ->> 'idempotency_key'), '') END AS key,
               CASE WHEN x.is_object AND jsonb_typeof(x.j -> 'stream_id') = 'string' THEN x.j ->> 'stream_id' END AS stream,
               CASE WHEN x.is_object AND jsonb_typeof(x.j -> 'message') = 'string' THEN nullif(btrim(x.j ->> 'message'), '') END AS message,
               CASE WHEN x.is_object AND jsonb_typeof(x.j -> 'is_anonymous') = 'boolean' THEN (x.j ->> 'is_anonymous')::boolean END AS anon,
               CASE WHEN x.is_object AND jsonb_typeof(x.j -> 'menu_item_id') = 'string' THEN x.j ->> 'menu_item_id' END AS menu,
               lp.tip_item_malformed(x.j) AS malformed
          FROM input AS x
    ), typed AS (
        SELECT r.k, r.is_object, r.malformed, r.token, r.key, r.message, coalesce(r.anon, false) AS anon,
               CASE WHEN NOT r.malformed AND r.is_object THEN r.recipient::uuid END AS recipient,
               CASE WHEN NOT r.malformed AND r.is_object THEN r.amount::numeric END AS amount,
               CASE WHEN NOT r.malformed AND r.is_object THEN r.stream::uuid END AS stream,
               CASE WHEN NOT r.malformed AND r.is_object THEN r.menu::uuid END AS menu
          FROM raw AS r
    ), checked AS (
        SELECT t.*, s.id AS session_id, s.user_id AS sender, s.last_seen_at,
               sw.id AS from_wallet, sw.shard_count > 0 AS sharded,
               ru.id AS to_user, rw.id AS to_wallet,
               (rw.shard_count = 0 OR rw.debt_since IS NOT NULL) AS to_main,
               st.id AS stream_found, st.host_id, st.status AS stream_status,
               gl.id AS goal, gl.refund_if_missed AS escrow,
               m.id AS item_found, m.performer_id AS item_performer, m.price AS item_price, m.is_active AS item_active,
               m.name AS item_name,
               old.id AS old_tip,
               -- the key of a tip of the sender to a performer of another shard (shard.tip_out; none on one node)
               EXISTS (SELECT 1 FROM lp.transfers_out AS xo
                        WHERE xo.sender_id = s.user_id AND xo.idempotency_key = t.key
                          AND xo.hold_id IS NULL AND xo.refund_of IS NULL) AS key_sent,
               -- the sender's sanctions (lp.sanction_refusal): a tip, and a message when it carries one; asked
               -- only of a sender with an unrevoked sanction (an index probe; a PL/pgSQL call per tip otherwise)
               CASE WHEN EXISTS (SELECT 1 FROM lp.user_sanctions AS us
                                  WHERE us.user_id = s.user_id AND us.revoked_at IS NULL)
                    THEN (lp.sanction_refusal(s.user_id, VARIADIC CASE WHEN coalesce(t.message, '') = '' THEN ARRAY['tip']
                                                                       ELSE ARRAY['tip', 'message'] END)).sanction_type
               END AS sender_sanction,
               -- who may be paid: the rule of api.tip and api.place_hold (inlined, costs a CASE)
               lp.payee_refusal(s.user_id, t.recipient, ru.id IS NOT NULL, ru.role, lp.sanctioned(ru.id),
                                EXISTS (SELECT 1 FROM lp.performer_blocks AS pb
                                         WHERE pb.performer_id = ru.id AND pb.blocked_id = s.user_id),
                                lp.kyc_refusal_from(ru.kyc_valid_until)) AS refusal,
               EXISTS (SELECT 1 FROM lp.spending_limits AS sl
                        WHERE sl.user_id = s.user_id
                          AND (sl.limit_tokens IS NOT NULL OR sl.pending_limit_tokens IS NOT NULL))
               OR EXISTS (SELECT 1 FROM lp.holds AS h
                           WHERE h.wallet_id = sw.id AND h.status = 'open' AND lp.hold_due(h)) AS limited
          FROM typed AS t
          LEFT JOIN lp.auth_sessions AS s
                 ON t.token IS NOT NULL AND char_length(t.token) = 43 AND s.token_hash = lp.hash_token(t.token)
                AND s.revoked_at IS NULL AND s.expires_at > now()
                AND EXISTS (SELECT 1 FROM lp.users AS su WHERE su.id = s.user_id AND su.deleted_at IS NULL)
          LEFT JOIN lp.wallets AS sw ON sw.user_id = s.user_id
          -- Each lookup an index probe per tip (LATERAL ... LIMIT 1: plain joins were planned as hash joins over a
          -- sequential scan of lp.users, lp.streams and lp.tip_menu_items on every call, and the earlier tip was
          -- found by scanning every tip of its sender).
          LEFT JOIN LATERAL (SELECT u.id, u.role, u.kyc_valid_until FROM lp.users AS u
                              WHERE u.id = t.recipient AND u.deleted_at IS NULL LIMIT 1) AS ru ON true
          LEFT JOIN lp.wallets AS rw ON rw.user_id = ru.id
          -- a stream the sender may not see is not found (LP003: lp.stream_visible's rule, for this tip's sender)
          LEFT JOIN LATERAL (SELECT x.id, x.host_id, x.status FROM lp.streams AS x
                              WHERE x.id = t.stream AND x.id = ANY (v_locked) AND x.deleted_at IS NULL
                                AND (x.visibility = 'public' OR x.host_id = s.user_id
                                     OR EXISTS (SELECT 1 FROM lp.stream_performers AS xp
                                                 WHERE xp.stream_id = x.id AND xp.performer_id = s.user_id)
                                     OR EXISTS (SELECT 1 FROM lp.users AS xu
                                                 WHERE xu.id = s.user_id AND xu.role IN ('moderator', 'admin')))
                              LIMIT 1) AS st ON true
          LEFT JOIN LATERAL (SELECT g.id, g.refund_if_missed FROM lp.tip_goals AS g
                              WHERE g.stream_id = st.id AND g.status = 'active' AND (g.deadline IS NULL OR g.deadline > now())
                              LIMIT 1) AS gl ON true
          -- an inactive item is not found (LP003) but by its performer and staff (api.tip's rule: api.list_menu's)
          LEFT JOIN LATERAL (SELECT i.id, i.performer_id, i.price, i.is_active, i.name FROM lp.tip_menu_items AS i
                              WHERE i.id = t.menu
                                AND (i.is_active OR i.performer_id = s.user_id
                                     OR EXISTS (SELECT 1 FROM lp.users AS iu
                                                 WHERE iu.id = s.user_id AND iu.role IN ('moderator', 'admin')))
                              LIMIT 1) AS m ON true
          LEFT JOIN LATERAL (SELECT o.id FROM lp.tips AS o
                              WHERE o.sender_id = s.user_id AND o.idempotency_key = t.key LIMIT 1) AS old ON true
    ), decided AS (
        SELECT c.*,
               CASE
                   WHEN NOT c.is_object OR c.malformed THEN 'LP018'
                   WHEN c.sender IS NULL THEN 'LP023'
                   WHEN c.sender_sanction IN ('suspension', 'ban') THEN 'LP022'
                   WHEN c.sender_sanction IS NOT NULL THEN 'LP150'
                   WHEN char_length(c.message) > 500 OR c.key IS NULL OR char_length(c.key) > 128 THEN 'LP018'
                   WHEN c.old_tip IS NOT NULL THEN 'replay'
                   WHEN c.key_sent THEN 'LP106'
                   WHEN c.amount < v_min OR c.amount > v_max THEN 'LP103'
                   -- LP101, LP003 (recipient), LP102, LP108, LP135, LP124: read once, then the stream and the limits
                   ELSE coalesce(c.refusal,
                                 CASE
                                     WHEN c.stream IS NOT NULL AND c.stream_found IS NULL THEN 'LP003'
                                     WHEN c.stream IS NOT NULL
                                          AND (c.host_id <> c.to_user OR c.stream_status <> 'live') THEN 'LP104'
                                     -- the menu item: the recipient's, active, paid at its price (api.tip's order)
                                     WHEN c.menu IS NOT NULL
                                          AND (c.item_found IS NULL OR c.item_performer <> c.to_user) THEN 'LP003-menu'
                                     WHEN c.menu IS NOT NULL AND NOT c.item_active THEN 'LP126'
                                     WHEN c.menu IS NOT NULL AND c.amount <> c.item_price THEN 'LP127'
                                     WHEN c.limited THEN 'LP114'
                                 END)
               END AS err
          FROM checked AS c
    )
    SELECT count(*)::integer,
           array_agg(d.sender ORDER BY d.k), array_agg(d.session_id ORDER BY d.k), array_agg(d.to_user ORDER BY d.k),
           array_agg(CASE WHEN d.amount BETWEEN -9223372036854775808 AND 9223372036854775807
                          THEN d.amount::bigint END ORDER BY d.k),
           array_agg(d.key ORDER BY d.k), array_agg(d.stream ORDER BY d.k), array_agg(d.message ORDER BY d.k),
           array_agg(d.anon ORDER BY d.k), array_agg(d.from_wallet ORDER BY d.k), array_agg(d.to_wallet ORDER BY d.k),
           array_agg(coalesce(d.to_main, false) ORDER BY d.k), array_agg(coalesce(d.sharded, false) ORDER BY d.k),
           array_agg(d.err ORDER BY d.k), array_agg(d.old_tip ORDER BY d.k),
           array_agg(d.goal ORDER BY d.k), array_agg(coalesce(d.escrow, false) ORDER BY d.k),
           array_agg(d.menu ORDER BY d.k), array_agg(d.item_name ORDER BY d.k)
      INTO n, a_sender, a_session, a_to, a_amount, a_key, a_stream, a_message, a_anon, a_from_w, a_to_w,
           a_to_main, a_sharded, a_err, a_tip, a_goal, a_escrow, a_menu, a_item
      FROM decided AS d;

    a_tx := array_fill(NULL::uuid, ARRAY[n]);
    a_fee := array_fill(NULL::bigint, ARRAY[n]);
    a_at := array_fill(NULL::timestamptz, ARRAY[n]);
    a_replay := array_fill(false, ARRAY[n]);
    IF true = ANY (a_escrow) THEN
        v_escrow := lp.system_wallet('goal_escrow');
    END IF;
    -- A later tip of the batch with the same sender and key as an earlier one is a retry of it (step 5).
    SELECT array_agg(f.first ORDER BY f.k) INTO v_first
      FROM (SELECT k, min(k) FILTER (WHERE a_err[k] IS NULL) OVER (PARTITION BY a_sender[k], a_key[k]) AS first
              FROM generate_subscripts(a_err, 1) AS k) AS f;
    FOR i IN 1 .. n LOOP
        IF a_err[i] IS NULL AND a_sender[i] IS NOT NULL AND a_key[i] IS NOT NULL AND v_first[i] <> i THEN
            a_err[i] := 'duplicate';
        END IF;
    END LOOP;

    -- Sessions seen: as api.authenticate does, at most once a minute per session.
    UPDATE lp.auth_sessions AS s SET last_seen_at = now()
     WHERE s.id = ANY (a_session) AND s.last_seen_at < now() - interval '1 minute';

    -- Fraud controls (issue 9, section 4; the rules of lp.count_spend, which api.tip calls): the senders'
    -- counter rows (made on a first spend), locked in user id order before any claim, as api.tip locks its one;
    -- then each sender's tips in input order: LP160 a new account over its caps, LP161 past the velocity rule.
    -- The tips counted here and later refused (LP100...) are not counted in the end: the decisions err on the
    -- side of refusing.
    INSERT INTO lp.spend_counters (user_id, account_created_at, first_payment_at)
    SELECT u.id, u.created_at,
           (SELECT min(p.completed_at) FROM lp.payments AS p WHERE p.user_id = u.id AND p.status = 'completed')
      FROM lp.users AS u
     WHERE u.id IN (SELECT a_sender[k] FROM generate_subscripts(a_err, 1) AS k WHERE a_err[k] IS NULL)
       AND NOT EXISTS (SELECT 1 FROM lp.spend_counters AS f WHERE f.user_id = u.id)
     ORDER BY u.id
    ON CONFLICT (user_id) DO NOTHING;
    SELECT array_agg(x.user_id ORDER BY x.user_id), array_agg(x.n ORDER BY x.user_id),
           array_agg(x.tokens ORDER BY x.user_id), array_agg(x.is_new ORDER BY x.user_id)
      INTO f_user, f_count, f_tokens, f_new
      FROM (SELECT f.user_id, CASE WHEN f.tip_hour >= v_hour THEN f.tips_in_hour ELSE 0 END AS n,
                   CASE WHEN f.tip_day >= v_day THEN f.tip_tokens_day ELSE 0 END AS tokens,
                   f.first_payment_at IS NULL
                   OR f.account_created_at > now() - make_interval(days => coalesce((v_cfg ->> 'fraud.new_account_days')::integer, 0))
                   AS is_new
              FROM lp.spend_counters AS f
             WHERE f.user_id IN (SELECT a_sender[k] FROM generate_subscripts(a_err, 1) AS k WHERE a_err[k] IS NULL)
             ORDER BY f.user_id
               FOR NO KEY UPDATE) AS x;
    -- One key names one tip, same-shard or cross-shard: the keys read again in lp.transfers_out now that the
    -- senders' counter rows are held (a cross-shard tip takes its sender's row before it claims its key:
    -- shard.tip_out), in a statement of its own, whose snapshot is taken after the wait (none on one node).
    FOR v_taken IN SELECT k FROM generate_subscripts(a_err, 1) AS k
                    WHERE a_err[k] IS NULL
                AND EXISTS (SELECT 1 FROM lp.transfers_out AS o
                             WHERE o.sender_id = a_sender[k] AND o.idempotency_key = a_key[k]
                               AND o.hold_id IS NULL AND o.refund_of IS NULL) LOOP
        a_err[v_taken] := 'LP106';
    END LOOP;
    FOR i IN 1 .. n LOOP
        CONTINUE WHEN a_err[i] IS NOT NULL;
        v_pos := array_position(f_user, a_sender[i]);
        IF f_new[v_pos] AND coalesce((v_cfg ->> 'fraud.new_account_max_tip')::bigint, 0) > 0
           AND a_amount[i] > (v_cfg ->> 'fraud.new_account_max_tip')::bigint THEN
            a_err[i] := 'LP160-tip';
        ELSIF f_new[v_pos] AND coalesce((v_cfg ->> 'fraud.new_account_daily_tip_tokens')::bigint, 0) > 0
              AND f_tokens[v_pos] + a_amount[i] > (v_cfg ->> 'fraud.new_account_daily_tip_tokens')::bigint THEN
            a_err[i] := 'LP160-day';
        ELSIF coalesce((v_cfg ->> 'fraud.tips_per_hour')::integer, 0) > 0
              AND f_count[v_pos] + 1 > (v_cfg ->> 'fraud.tips_per_hour')::integer THEN
            a_err[i] := 'LP161';
        ELSE
            f_count[v_pos] := f_count[v_pos] + 1;
            f_tokens[v_pos] := f_tokens[v_pos] + a_amount[i];
        END IF;
    END LOOP;

    -- 2. Claim the keys (business rows before any wallet): one INSERT, in (sender, key) order so that two
    -- batches retrying the same tips queue instead of deadlocking. A key another transaction committed
    -- meanwhile makes that tip a replay.
    WITH claimed AS (
        INSERT INTO lp.tips AS t (sender_id, recipient_id, stream_id, amount, fee_amount, message, is_anonymous,
                                  transaction_id, idempotency_key, goal_id, menu_item_id, status)
        SELECT a_sender[k], a_to[k], a_stream[k], a_amount[k], lp.fee_for(a_amount[k], v_bps), a_message[k],
               a_anon[k], lp.uuid_v7(), a_key[k], a_goal[k], a_menu[k],
               CASE WHEN a_escrow[k] THEN 'escrowed' ELSE 'completed' END
          FROM generate_subscripts(a_err, 1) AS k
         WHERE a_err[k] IS NULL
         ORDER BY a_sender[k], a_key[k]
        ON CONFLICT (sender_id, idempotency_key) DO NOTHING
        RETURNING t.id, t.sender_id, t.idempotency_key, t.transaction_id, t.fee_amount, t.created_at
    )
    SELECT array_agg(c.id ORDER BY x.k), array_agg(c.transaction_id ORDER BY x.k),
           array_agg(c.fee_amount ORDER BY x.k), array_agg(c.created_at ORDER BY x.k)
      INTO l_ref, l_tx, l_amount, a_at
      FROM generate_subscripts(a_err, 1) AS x (k)
      LEFT JOIN claimed AS c ON c.sender_id = a_sender[x.k] AND c.idempotency_key = a_key[x.k]
                             AND a_err[x.k] IS NULL;
    FOR i IN 1 .. n LOOP
        IF a_err[i] IS NULL THEN
            IF l_ref[i] IS NULL THEN
                a_err[i] := 'replay';  -- committed by a concurrent call meanwhile
            ELSE
                a_tip[i] := l_ref[i];
                a_tx[i] := l_tx[i];
                a_fee[i] := l_amount[i];
            END IF;
        END IF;
    END LOOP;

    -- 3. The senders' main balances (and those of recipients credited on their main balance), in wallet id
    -- order, before any shard; then 4. each sender's tips in input order, while the available balance lasts.
    PERFORM 1 FROM lp.wallets AS w
     WHERE w.id = ANY (ARRAY(SELECT a_from_w[k] FROM generate_subscripts(a_err, 1) AS k WHERE a_err[k] IS NULL
                             UNION
                             SELECT a_to_w[k] FROM generate_subscripts(a_err, 1) AS k
                              WHERE a_err[k] IS NULL AND a_to_main[k]))
     ORDER BY w.id
       FOR NO KEY UPDATE;
    SELECT array_agg(w.id), array_agg(w.balance - w.reserved), array_agg(w.debt_since IS NOT NULL)
      INTO v_wallets, v_avail, v_debt
      FROM lp.wallets AS w
     WHERE w.id = ANY (ARRAY(SELECT a_from_w[k] FROM generate_subscripts(a_err, 1) AS k WHERE a_err[k] IS NULL));
    FOR i IN 1 .. n LOOP
        CONTINUE WHEN a_err[i] IS NOT NULL;
        v_pos := array_position(v_wallets, a_from_w[i]);
        v_left := v_avail[v_pos];
        IF v_debt[v_pos] THEN
            a_err[i] := 'LP107';
        ELSIF v_left < a_amount[i] THEN
            -- Earnings waiting in a performer's credit shards need a sweep: api.tip does that.
            a_err[i] := CASE WHEN a_sharded[i] THEN 'LP114' ELSE 'LP100' END;
        ELSE
            v_avail[v_pos] := v_left - a_amount[i];
        END IF;
        IF a_err[i] IS NOT NULL THEN
            v_refused := v_refused || a_tip[i];  -- rare: a refusal
            a_tip[i] := NULL;
        END IF;
    END LOOP;
    -- A refused tip gives its key back (nobody else saw the row).
    IF cardinality(v_refused) > 0 THEN
        DELETE FROM lp.tips AS t WHERE t.id = ANY (v_refused);
    END IF;
    -- The legs of the accepted tips, in input order, built in one statement (appending to arrays in the loop
    -- copied them on every tip): the sender's debit, the performer's credit (toward a refund_if_missed goal:
    -- the whole tip into escrow, the fee taken when it is paid out), the fee. A leg of 0 tokens (no fee, or a
    -- fee of 100 % that leaves the performer nothing) is left out.
    SELECT array_agg(a_tx[k] ORDER BY k, l.leg), array_agg(a_tip[k] ORDER BY k, l.leg),
           array_agg(l.wallet ORDER BY k, l.leg), array_agg(l.amount ORDER BY k, l.leg),
           array_agg(l.kind ORDER BY k, l.leg), array_agg(l.main ORDER BY k, l.leg)
      INTO l_tx, l_ref, l_wallet, l_amount, l_kind, l_main
      FROM generate_subscripts(a_err, 1) AS k,
           LATERAL (VALUES (1, a_from_w[k], -a_amount[k], 'tip'::text, true),
                           (2, CASE WHEN a_escrow[k] THEN v_escrow ELSE a_to_w[k] END,
                            a_amount[k] - CASE WHEN a_escrow[k] THEN 0 ELSE a_fee[k] END, 'tip'::text,
                            NOT a_escrow[k] AND a_to_main[k]),
                           (3, v_fees, CASE WHEN a_escrow[k] THEN 0 ELSE a_fee[k] END, 'tip_fee'::text, false))
                   AS l (leg, wallet, amount, kind, main)
     WHERE a_err[k] IS NULL AND l.amount <> 0;

    -- 5. The money: every leg of every accepted tip, set-based.
    PERFORM lp.post_batch('tip', l_tx, l_ref, l_wallet, l_amount, l_kind, l_main);

    -- The fraud counters of the tips applied now, one UPDATE (rows locked above); a sender whose tips reach
    -- fraud.tips_per_hour in this batch gets a fraud case (lp.count_spend's rule).
    FOR v_fraud IN
        UPDATE lp.spend_counters AS f
           SET tips_in_hour = CASE WHEN f.tip_hour >= v_hour THEN f.tips_in_hour + g.tips ELSE g.tips END,
               tip_hour = greatest(f.tip_hour, v_hour),
               tip_tokens_day = CASE WHEN f.tip_day >= v_day THEN f.tip_tokens_day + g.tokens ELSE g.tokens END,
               tip_day = greatest(f.tip_day, v_day)
          FROM (SELECT a_sender[k] AS sender, count(*)::integer AS tips, sum(a_amount[k])::bigint AS tokens
                  FROM generate_subscripts(a_err, 1) AS k
                 WHERE a_err[k] IS NULL AND a_tip[k] IS NOT NULL
                 GROUP BY a_sender[k]) AS g
         WHERE f.user_id = g.sender
        RETURNING f.user_id, f.tips_in_hour, g.tips, f.tip_hour
    LOOP
        IF coalesce((v_cfg ->> 'fraud.tips_per_hour')::integer, 0) > 0
           AND v_fraud.tips_in_hour >= (v_cfg ->> 'fraud.tips_per_hour')::integer
           AND v_fraud.tips_in_hour - v_fraud.tips < (v_cfg ->> 'fraud.tips_per_hour')::integer THEN
            PERFORM lp.open_case('fraud', 'fraud', v_fraud.user_id, NULL,
                                 jsonb_build_object('rule', 'velocity', 'kind', 'tip',
                                                    'per_hour', (v_cfg ->> 'fraud.tips_per_hour')::integer,
                                                    'hour', v_fraud.tip_hour),
                                 NULL);
        END IF;
    END LOOP;

    -- 6. Goal progress of the tips applied now, one call per goal in goal id order (after the wallets, as in
    -- api.tip); a goal whose progress reaches its target is closed.
    FOR v_goal IN
        SELECT a_goal[k] AS goal, sum(a_amount[k])::bigint AS tokens, count(*)::integer AS tips
          FROM generate_subscripts(a_err, 1) AS k
         WHERE a_err[k] IS NULL AND a_tip[k] IS NOT NULL AND a_goal[k] IS NOT NULL
         GROUP BY a_goal[k]
         ORDER BY a_goal[k]
    LOOP
        v_total := lp.add_goal_progress(v_goal.goal, v_goal.tokens, v_goal.tips);
        IF v_total >= (SELECT g.target_tokens FROM lp.tip_goals AS g WHERE g.id = v_goal.goal) THEN
            PERFORM lp.reach_goal(v_goal.goal);
        END IF;
    END LOOP;

    -- The stream events of the tips applied now (as api.tip appends them), and one wake-up per stream.
    INSERT INTO lp.stream_events (stream_id, kind, payload)
    SELECT a_stream[k], CASE WHEN a_menu[k] IS NULL THEN 'tip' ELSE 'menu_item' END::lp.stream_event_kind,
           jsonb_build_object('tip_id', a_tip[k], 'sender_id', a_sender[k], 'amount', a_amount[k],
                              'message', a_message[k], 'anonymous', coalesce(a_anon[k], false))
           || CASE WHEN a_menu[k] IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('menu_item_id', a_menu[k], 'item', a_item[k]) END
           || CASE WHEN a_goal[k] IS NULL THEN '{}'::jsonb
                   ELSE jsonb_build_object('goal_id', a_goal[k], 'goal_progress', p.tokens, 'goal_target', g.target_tokens) END
      FROM generate_subscripts(a_err, 1) AS k
      LEFT JOIN lp.tip_goals AS g ON g.id = a_goal[k]
      LEFT JOIN LATERAL lp.goal_progress(a_goal[k]) AS p ON a_goal[k] IS NOT NULL
     WHERE a_err[k] IS NULL AND a_tip[k] IS NOT NULL AND a_stream[k] IS NOT NULL
     ORDER BY k;
    PERFORM pg_notify(lp.event_channel(w.stream_id), '')
       FROM (SELECT DISTINCT a_stream[k] AS stream_id FROM generate_subscripts(a_err, 1) AS k
              WHERE a_err[k] IS NULL AND a_tip[k] IS NOT NULL AND a_stream[k] IS NOT NULL) AS w
      WHERE v_cfg -> 'events.wake_up' = '"commit"';

    -- Replays (an earlier call, or an earlier tip of this batch, with the same sender and key): the original
    -- tip when the arguments match, LP106 otherwise; a duplicate of a refused tip gets its refusal.
    FOR i IN 1 .. n LOOP
        IF a_err[i] = 'duplicate' AND a_err[v_first[i]] IS NOT NULL AND a_err[v_first[i]] <> 'LP106' THEN
            a_err[i] := a_err[v_first[i]];  -- the earlier tip with this key was refused: so is its retry
        ELSIF a_err[i] IN ('replay', 'duplicate') THEN
            SELECT t.* INTO v_old FROM lp.tips AS t WHERE t.sender_id = a_sender[i] AND t.idempotency_key = a_key[i];
            IF v_old.id IS NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'a claimed tip key has no tip';
            ELSIF (v_old.recipient_id, v_old.amount, v_old.stream_id, v_old.message, v_old.is_anonymous, v_old.menu_item_id)
                  IS DISTINCT FROM (a_to[i], a_amount[i], a_stream[i], a_message[i], a_anon[i], a_menu[i]) THEN
                a_err[i] := 'LP106';
                a_tip[i] := NULL;
            ELSE
                a_err[i] := NULL;
                a_replay[i] := true;
                a_tip[i] := v_old.id;
                a_tx[i] := v_old.transaction_id;
                a_fee[i] := v_old.fee_amount;
                a_at[i] := v_old.created_at;
            END IF;
        END IF;
    END LOOP;

    RETURN QUERY
    SELECT k, a_tip[k], a_sender[k], a_to[k], a_amount[k], a_fee[k], a_tx[k], a_at[k],
           a_err[k] IS NULL AND a_replay[k], left(a_err[k], 5),
           coalesce(CASE WHEN a_err[k] = 'LP003' AND a_to[k] IS NOT NULL THEN 'stream not found' END,
                    lp.payee_refusal_message(a_err[k]),  -- LP101, LP003, LP102, LP108, LP124, LP135: as lp.refuse_payee words them
                    CASE a_err[k]
                        WHEN 'LP018' THEN 'malformed tip (fields: session_token, recipient_id, amount, idempotency_key, stream_id, message of at most 500 characters, is_anonymous, menu_item_id; key of 1 to 128 characters)'
                        WHEN 'LP003-menu' THEN 'menu item not found'
                        WHEN 'LP126' THEN 'the menu item is not available'
                        WHEN 'LP127' THEN 'a menu item is paid at its price'
                        WHEN 'LP023' THEN 'invalid or expired session'
                        WHEN 'LP022' THEN 'account is sanctioned'
                        WHEN 'LP150' THEN 'a sanction forbids this tip (tip_block, or mute for a tip with a message)'
                        WHEN 'LP160-tip' THEN format('a new account may tip at most %s tokens at once',
                                                     v_cfg ->> 'fraud.new_account_max_tip')
                        WHEN 'LP160-day' THEN format('a new account may tip at most %s tokens a day',
                                                     v_cfg ->> 'fraud.new_account_daily_tip_tokens')
                        WHEN 'LP161' THEN format('too many tips this hour: at most %s per clock hour (UTC)',
                                                 v_cfg ->> 'fraud.tips_per_hour')
                        WHEN 'LP103' THEN format('tip amount out of range: between %s and %s tokens', v_min, v_max)
                        WHEN 'LP104' THEN 'the stream is not the recipient''s live stream'
                        WHEN 'LP114' THEN 'this tip needs api.tip (spending limit, holds past their time, or earnings to sweep)'
                        WHEN 'LP107' THEN 'the wallet is in debt and cannot spend'
                        WHEN 'LP100' THEN 'insufficient available balance'
                        WHEN 'LP106' THEN 'idempotency key already used for a different tip'
                    END)
      FROM generate_subscripts(a_err, 1) AS k
     ORDER BY k;
END
$$;
COMMENT ON FUNCTION api.tip_many(jsonb) IS 'Up to 1000 tips, of any senders, in one call (JSON array of objects: session_token, recipient_id, amount, idempotency_key, optional stream_id, message, is_anonymous, menu_item_id). Each tip is authenticated by its own session token and checked exactly as api.tip checks it; the accepted ones are applied set-based under the lock protocol of docs/ledger.md (one claim of every key, each wallet updated once, every entry with its exact before/after balance). One row per tip, in input order: the tip (replayed true for a retry with a used key and the same arguments) or error_code and error_message; a refused tip changes nothing and does not fail the others. LP114 asks to send that tip with api.tip (its sender has a spending limit, or needs the earnings in their credit shards). The fraud controls apply per sender in input order (LP160 a new account over its caps, LP161 too many tips this hour; a sender whose tips reach fraud.tips_per_hour gets a fraud case). LP018 when p_tips is not an array of 1 to 1000 elements.';
REVOKE ALL ON FUNCTION api.tip_many(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.tip_many(jsonb) TO livepanty_app, livepanty_service;
