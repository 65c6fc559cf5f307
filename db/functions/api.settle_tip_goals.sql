CREATE FUNCTION api.settle_tip_goals(p_limit integer DEFAULT 1000)
RETURNS TABLE (
    tips_paid     integer,
    tips_refunded integer,
    goals_reached integer,
    goals_missed  integer,
    goals_activated integer
)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_escrow  uuid;
    v_fees    uuid;
    v_paid    integer := 0;
    v_back    integer := 0;
    v_reached integer := 0;
    v_missed  integer := 0;
    v_started integer := 0;
    v_goal    lp.tip_goals;
    v_due_goal record;
    v_stream  uuid;
    v_due     uuid[];
    v_pay     boolean[];
    v_busy    uuid[] := ARRAY[]::uuid[];
    v_goals   uuid[];
    l_tx      uuid[];
    l_ref     uuid[];
    l_wallet  uuid[];
    l_amount  bigint[];
    l_kind    text[];
    l_main    boolean[];
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 100000';
    END IF;
    v_escrow := lp.system_wallet('goal_escrow');
    v_fees := lp.system_wallet('platform_fees');

    -- 1. Escrowed tips of closed goals (business rows first, SKIP LOCKED, so several workers share the work),
    -- then the money, set-based: one ledger transaction per tip. Reached: escrow -amount, performer
    -- +(amount - fee), platform fees +fee. Missed or cancelled: escrow -amount, sender +amount. A tip that
    -- committed after its goal closed (it read the goal as active) is settled the same way by a later run.
    -- A tip from a user of another shard of a sharded installation (lp.transfers_in, same id; docs/scale-out.md)
    -- holds only amount - fee here, its sender's shard having kept the fee: reached, escrow -(amount - fee),
    -- performer +(amount - fee); missed, escrow -(amount - fee), the in-transit wallet of the sender's shard
    -- +(amount - fee) and an outbox row (lp.transfers_out.refund_of), which the relay credits there once, the
    -- fee given back there too.
    -- The payee rule at payout time: a performer deleted or banned for good since the goal was reached is not
    -- paid (the tips go back, as for a missed goal); one under a suspension (or a ban with an end), or whose
    -- identity verification lapsed (the KYC gate, as for a capture of an earlier hold), waits: their tips stay
    -- in escrow until it is over (verified again).
    SELECT array_agg(x.id ORDER BY x.id), array_agg(x.pay ORDER BY x.id) INTO v_due, v_pay
      FROM (SELECT t.id,
                   g.status = 'reached' AND u.deleted_at IS NULL AND sa.id IS NULL AS pay
              FROM lp.tips AS t
              JOIN lp.tip_goals AS g ON g.id = t.goal_id
              JOIN lp.users AS u ON u.id = t.recipient_id
             CROSS JOIN LATERAL lp.active_sanction(u.id) AS sa
             WHERE t.status = 'escrowed' AND g.status IN ('reached', 'missed', 'cancelled')
               AND NOT (g.status = 'reached' AND u.deleted_at IS NULL
                        AND NOT coalesce(sa.sanction_type = 'ban' AND sa.ends_at IS NULL, false)
                        AND (sa.id IS NOT NULL OR lp.kyc_refusal_from(u.kyc_valid_until) IS NOT NULL))
             ORDER BY t.id
             LIMIT p_limit
               FOR NO KEY UPDATE OF t SKIP LOCKED) AS x;
    -- Their streams, one at a time in id order: an ended one FOR NO KEY UPDATE (its final statistics get the
    -- tips paid out below), any other FOR SHARE (as a tip takes it: a stream ending now waits for this payout
    -- and counts the tips itself). Then their goals, in id order (their settled_at is set below). All SKIP
    -- LOCKED: this job waits for no tip, stream or goal it settles. A stream or goal another transaction holds in a conflicting
    -- mode (a stream being ended, an ended one a late join or tip has in hand, a goal another worker settles)
    -- leaves its tips out of this run (their rows are released at commit; a later run takes them): a job that
    -- waited here while holding other streams and goals could close a cycle with whoever holds this one.
    FOR v_stream IN
        SELECT DISTINCT t.stream_id FROM lp.tips AS t WHERE t.id = ANY (v_due) AND t.stream_id IS NOT NULL
         ORDER BY t.stream_id
    LOOP
        PERFORM 1 FROM lp.streams AS st WHERE st.id = v_stream AND st.status = 'ended' FOR NO KEY UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            PERFORM 1 FROM lp.streams AS st WHERE st.id = v_stream AND st.status <> 'ended' FOR SHARE SKIP LOCKED;
        END IF;
        IF NOT FOUND AND EXISTS (SELECT 1 FROM lp.streams AS st WHERE st.id = v_stream) THEN
            v_busy := v_busy || v_stream;
        END IF;
    END LOOP;
    SELECT array_agg(g.id ORDER BY g.id) INTO v_goals
      FROM (SELECT g.id FROM lp.tip_goals AS g
             WHERE g.id IN (SELECT t.goal_id FROM lp.tips AS t
                             WHERE t.id = ANY (v_due) AND NOT coalesce(t.stream_id = ANY (v_busy), false))
             ORDER BY g.id
               FOR NO KEY UPDATE SKIP LOCKED) AS g;
    -- The tips this run settles: those whose stream and goal it holds.
    SELECT array_agg(d.id ORDER BY d.id), array_agg(d.pay ORDER BY d.id) INTO v_due, v_pay
      FROM unnest(v_due, v_pay) AS d (id, pay)
      JOIN lp.tips AS t ON t.id = d.id
     WHERE t.goal_id = ANY (v_goals) AND NOT coalesce(t.stream_id = ANY (v_busy), false);
    WITH due AS (
        SELECT d.id, d.pay FROM unnest(v_due, v_pay) AS d (id, pay)
    ), settled AS (
        UPDATE lp.tips AS t
           SET status = CASE WHEN d.pay THEN 'completed' ELSE 'refunded' END, settlement_id = lp.uuid_v7()
          FROM due AS d
         WHERE t.id = d.id
        RETURNING t.id, t.sender_id, t.recipient_id, t.amount, t.fee_amount, t.settlement_id, t.goal_id, t.stream_id,
                  t.idempotency_key, d.pay
    ), x AS (
        -- held: what the escrow holds for the tip; from_shard: the sender's shard of a cross-shard tip.
        SELECT s.*, i.from_shard, coalesce(i.amount, s.amount) AS held
          FROM settled AS s
          LEFT JOIN lp.transfers_in AS i ON i.id = s.id AND i.hold_id IS NULL AND i.refund_of IS NULL
    ), refunds AS (
        INSERT INTO lp.transfers_out (id, sender_id, recipient_id, to_shard, amount, fee_amount, idempotency_key,
                                      transaction_id, refund_of)
        SELECT lp.uuid_v7(), x.sender_id, x.sender_id, x.from_shard, x.held, 0, x.idempotency_key,
               x.settlement_id, x.id
          FROM x WHERE NOT x.pay AND x.from_shard IS NOT NULL
    ), counted AS (
        -- Tips paid out after their stream ended: into its final statistics, which count completed tips.
        UPDATE lp.streams AS st
           SET tips_count = st.tips_count + x.tips, tips_tokens = st.tips_tokens + x.tokens
          FROM (SELECT s.stream_id, count(*)::bigint AS tips, sum(s.amount)::bigint AS tokens
                  FROM settled AS s WHERE s.pay AND s.stream_id IS NOT NULL
                 GROUP BY s.stream_id) AS x
         WHERE st.id = x.stream_id AND st.status = 'ended'
    ), legs AS (
        SELECT x.settlement_id AS tx, x.id AS ref, v_escrow AS wallet, -x.held AS amount,
               CASE WHEN x.pay THEN 'tip' ELSE 'refund' END AS kind, false AS main, x.id AS ord, 1 AS leg
          FROM x
        UNION ALL
        -- The payee, or the sender, or (a cross-shard tip's refund) the in-transit wallet of the sender's shard.
        -- A wallet not found leaves the leg's wallet NULL: lp.post_batch refuses it (LP199), nothing is written.
        SELECT x.settlement_id, x.id, coalesce(w.id, tw.id),
               CASE WHEN x.pay AND x.from_shard IS NULL THEN x.amount - x.fee_amount ELSE x.held END,
               CASE WHEN x.pay THEN 'tip' WHEN x.from_shard IS NULL THEN 'refund' ELSE 'transfer' END,
               coalesce(w.shard_count = 0 OR w.debt_since IS NOT NULL, false), x.id, 2
          FROM x
          LEFT JOIN lp.wallets AS w
            ON w.user_id = CASE WHEN x.pay THEN x.recipient_id WHEN x.from_shard IS NULL THEN x.sender_id END
          LEFT JOIN lp.wallets AS tw
            ON NOT x.pay AND x.from_shard IS NOT NULL AND tw.system_code = 'transit_' || x.from_shard
        UNION ALL
        SELECT x.settlement_id, x.id, v_fees, x.fee_amount, 'tip_fee', false, x.id, 3
          FROM x WHERE x.pay AND x.from_shard IS NULL
    ), touched AS (
        UPDATE lp.tip_goals AS g SET settled_at = now()
         WHERE g.id IN (SELECT DISTINCT s.goal_id FROM settled AS s)
    )
    -- Zero legs left out (lp.post_batch refuses them): a cross-shard tip whose fee was the whole tip holds 0
    -- tokens in the escrow; it is settled (and counted) all the same, its refund an outbox row of 0 tokens.
    SELECT array_agg(l.tx ORDER BY l.ord, l.leg) FILTER (WHERE l.amount <> 0),
           array_agg(l.ref ORDER BY l.ord, l.leg) FILTER (WHERE l.amount <> 0),
           array_agg(l.wallet ORDER BY l.ord, l.leg) FILTER (WHERE l.amount <> 0),
           array_agg(l.amount ORDER BY l.ord, l.leg) FILTER (WHERE l.amount <> 0),
           array_agg(l.kind ORDER BY l.ord, l.leg) FILTER (WHERE l.amount <> 0),
           array_agg(l.main ORDER BY l.ord, l.leg) FILTER (WHERE l.amount <> 0),
           (count(*) FILTER (WHERE l.leg = 1 AND l.kind = 'tip'))::integer,
           (count(*) FILTER (WHERE l.leg = 1 AND l.kind = 'refund'))::integer
      INTO l_tx, l_ref, l_wallet, l_amount, l_kind, l_main, v_paid, v_back
      FROM legs AS l;
    -- Credits only, besides the escrow's own debit (a system wallet): no user balance is checked, none can fail.
    PERFORM lp.post_batch('tip', l_tx, l_ref, l_wallet, l_amount, l_kind, l_main);

    -- 2. Active goals whose progress reached the target while no tip could close them (two tips crossing it
    -- at once each saw only their own tokens), and 3. active goals past their deadline. One at a time, in
    -- stream id order; for each, its stream row FOR SHARE, then the goal row FOR NO KEY UPDATE, both SKIP
    -- LOCKED (docs/ledger.md: the stream before its goals, as api.cancel_tip_goal, api.add_tip_goal and
    -- api.end_stream): closing the goal activates the next queued one, and the stream row makes this run and
    -- an api.add_tip_goal in flight (FOR NO KEY UPDATE) one after the other, so the goal it queues is either
    -- seen here or finds no active goal and becomes active itself. A stream or goal held in a conflicting mode
    -- (an add, a start or an end in flight; a goal being cancelled or reached) is skipped: a later run closes
    -- it. No wallet is waited for from here on.
    FOR v_due_goal IN
        SELECT g.id, g.stream_id FROM lp.tip_goals AS g
         WHERE g.status = 'active'
           AND (g.deadline <= now() OR (lp.goal_progress(g.id)).tokens >= g.target_tokens)
         ORDER BY g.stream_id, g.id
    LOOP
        PERFORM 1 FROM lp.streams AS st WHERE st.id = v_due_goal.stream_id FOR SHARE SKIP LOCKED;
        CONTINUE WHEN NOT FOUND;
        SELECT g.* INTO v_goal FROM lp.tip_goals AS g
         WHERE g.id = v_due_goal.id AND g.status = 'active'
           FOR NO KEY UPDATE SKIP LOCKED;
        CONTINUE WHEN NOT FOUND;
        IF (lp.goal_progress(v_goal.id)).tokens >= v_goal.target_tokens THEN
            PERFORM lp.close_goal(v_goal, 'reached');
            v_reached := v_reached + 1;
        ELSIF v_goal.deadline <= now() THEN
            -- Missed only once no tip toward it is in flight: tips hold the goal FOR KEY SHARE from their read
            -- (api.tip, api.tip_many; their lp.tips row's foreign key too), which FOR UPDATE conflicts with. One
            -- held is skipped (a later run misses it, or the tip's tokens reach the target and the tip closes it
            -- reached). Tips that commit meanwhile are seen by the statements after the lock: progress re-read.
            PERFORM 1 FROM lp.tip_goals AS g WHERE g.id = v_goal.id FOR UPDATE SKIP LOCKED;
            CONTINUE WHEN NOT FOUND;
            IF (lp.goal_progress(v_goal.id)).tokens >= v_goal.target_tokens THEN
                PERFORM lp.close_goal(v_goal, 'reached');
                v_reached := v_reached + 1;
            ELSE
                PERFORM lp.close_goal(v_goal, 'missed', 'deadline passed');
                v_missed := v_missed + 1;
            END IF;
        END IF;
    END LOOP;

    -- 4. A safety net: a live stream with queued goals and no active one gets its next goal (a goal closed
    -- by a transaction that could not see a goal queued at the same moment, before every closer took the
    -- stream row first, left its queue stuck). The stream row FOR NO KEY UPDATE SKIP LOCKED, as lp.lock_stream
    -- takes it: every other activation holds the stream at least FOR SHARE (tips, cancels, step 2) or as
    -- strongly (add, start), so none runs alongside and two never activate two goals. A held stream waits for
    -- a later run. Last, so the row is held only until this run commits.
    FOR v_stream IN
        SELECT s.id FROM lp.streams AS s
         WHERE s.status = 'live' AND s.deleted_at IS NULL
           AND EXISTS (SELECT 1 FROM lp.tip_goals AS q WHERE q.stream_id = s.id AND q.status = 'queued')
           AND NOT EXISTS (SELECT 1 FROM lp.tip_goals AS a WHERE a.stream_id = s.id AND a.status = 'active')
         ORDER BY s.id
         LIMIT p_limit
    LOOP
        PERFORM 1 FROM lp.streams AS st WHERE st.id = v_stream AND st.status = 'live' FOR NO KEY UPDATE SKIP LOCKED;
        IF FOUND AND (lp.activate_next_goal(v_stream)).id IS NOT NULL THEN
            v_started := v_started + 1;  -- a queue found stuck: the operator's figure of how often that happens
        END IF;
    END LOOP;
    RETURN QUERY SELECT v_paid, v_back, v_reached, v_missed, v_started;
END
$$;
COMMENT ON FUNCTION api.settle_tip_goals(integer) IS 'Back office job (livepanty-db jobs settle-goals): pays out or back up to p_limit escrowed tips of closed refund_if_missed goals (reached: to the performer, less the platform fee; missed or cancelled: to the sender, whole; a cross-shard tip of a sharded installation holds only what its sender''s shard sent, and goes back through the outbox), one ledger transaction each (lp.tips.settlement_id; a performer deleted or banned for good since is not paid: those tips go back; one under a suspension, or whose identity verification lapsed (lp.kyc_refusal_from), waits), tips paid out after their stream ended added to its final statistics; then closes active goals whose progress reached the target (reached) or whose deadline passed (missed: only with no tip toward it in flight, the goal FOR UPDATE SKIP LOCKED against the tips'' FOR KEY SHARE), each under its stream row (FOR SHARE, then the goal), activating the next queued goal; last, activates the next queued goal of a live stream left without an active goal. Rows held by another transaction are skipped (tips, their streams and goals, goals to close and their streams, streams to activate a goal on): the job waits for none of them (only for wallets, and for the next queued goal it activates), several may run at once, and a tip skipped now is settled by a later run. Returns the tips paid and refunded, the goals reached and missed, and the goals the last step activated (goals_activated: queues found without an active goal, each a sign of a race the closers'' lock order should prevent). LP018 p_limit outside 1..100000.';
REVOKE ALL ON FUNCTION api.settle_tip_goals(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.settle_tip_goals(integer) TO livepanty_service;
