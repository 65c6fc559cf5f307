CREATE FUNCTION api.verify_ledger_period(
    p_period_from timestamptz DEFAULT NULL,
    p_period_to   timestamptz DEFAULT NULL
)
RETURNS TABLE (check_name text, wallet_id uuid, shard smallint, transaction_id uuid, detail text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET jit = off          -- compiling the period queries costs more than it saves
    SET work_mem = '128MB' -- one period's transactions hashed in memory (api.ledger_periods sizes the periods)
AS $$
DECLARE
    -- Entries, tips and captures created before the archive boundary are in the archive files (lp.archives).
    v_lo     timestamptz := greatest(coalesce(p_period_from, '-infinity'), coalesce(lp.archive_boundary(), '-infinity'));
    v_hi     timestamptz := coalesce(p_period_to, 'infinity');
    v_fees   uuid;
    v_escrow uuid;
    v_losses uuid;
BEGIN
    PERFORM lp.verify_authorize();
    IF p_period_from > p_period_to THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'period_from must not be later than period_to';
    END IF;
    v_fees := lp.system_wallet('platform_fees');
    v_escrow := lp.system_wallet('goal_escrow');
    v_losses := lp.system_wallet('chargeback_losses');

    -- The transaction pass (docs/ledger.md, "Verification"): every ledger transaction, tip and hold capture
    -- created in [v_lo, v_hi). All entries of a ledger transaction, its tip and its capture carry one time
    -- (one lp.post in one database transaction: now()), so a period holds each transaction whole, and periods
    -- that cover the time line check each transaction exactly once; the period's rows are read through the
    -- created_at BRIN indexes.
    -- (a) Every ledger transaction sums to zero, and (g) every tip has its ledger transaction with the right
    -- legs: payer -amount, payee +(amount - fee), platform fees +fee, nothing else credited; a tip toward a
    -- refund_if_missed goal (escrowed, or settled: settlement_id) instead credits the goal_escrow wallet with
    -- the whole amount (its settlement is checked below). One hash join of the period's entries and tips on
    -- the transaction id, one aggregate per (transaction, tip); only the failing groups are kept (g). lp.tips has
    -- no foreign key onto lp.users (migration 0048): a tip whose sender or recipient has no wallet (a user who
    -- does not exist, or was hard-deleted with their wallet) is reported here. Tips received from another shard
    -- (their id is a lp.transfers_in row; the sender is a stub without a wallet here) are checked in (i).
    RETURN QUERY
    WITH t AS (
        SELECT tp.id AS tip_id, tp.transaction_id AS tx, tp.amount, tp.fee_amount AS fee,
               (tp.status = 'escrowed' OR tp.settlement_id IS NOT NULL) AS escrowed,
               tp.sender_id, tp.recipient_id, sw.id AS sender_wallet, rw.id AS recipient_wallet
          FROM lp.tips AS tp
          LEFT JOIN lp.wallets AS sw ON sw.user_id = tp.sender_id
          LEFT JOIN lp.wallets AS rw ON rw.user_id = tp.recipient_id
         WHERE tp.created_at >= v_lo AND tp.created_at < v_hi
           AND NOT EXISTS (SELECT 1 FROM lp.transfers_in AS i   -- (written with the tip: the same created_at)
                            WHERE i.id = tp.id AND i.hold_id IS NULL AND i.refund_of IS NULL
                              AND i.created_at >= v_lo AND i.created_at < v_hi)
    ), e AS (
        SELECT l.transaction_id AS tx, l.wallet_id AS w_id, l.amount, l.reference_type, l.reference_id
          FROM lp.ledger AS l
         WHERE l.created_at >= v_lo AND l.created_at < v_hi
    ), agg AS (
        SELECT coalesce(e.tx, t.tx) AS tx, t.tip_id, t.amount, t.fee, t.escrowed, t.sender_wallet,
               t.sender_id, t.recipient_id, t.recipient_wallet,
               coalesce(sum(e.amount), 0) AS total, count(e.tx) AS entries,
               coalesce(sum(e.amount) FILTER (WHERE e.w_id = t.sender_wallet), 0) AS sender_amount,
               coalesce(sum(e.amount) FILTER (WHERE e.w_id = t.recipient_wallet), 0) AS recipient_amount,
               coalesce(sum(e.amount) FILTER (WHERE e.w_id = v_fees), 0) AS fee_amount,
               coalesce(sum(e.amount) FILTER (WHERE e.w_id = v_escrow), 0) AS escrow_amount,
               coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0) AS credits,
               count(e.tx) FILTER (WHERE e.reference_type <> 'tip' OR e.reference_id <> t.tip_id) AS bad_refs
          FROM e FULL JOIN t ON t.tx = e.tx
         GROUP BY 1, t.tip_id, t.amount, t.fee, t.escrowed, t.sender_id, t.recipient_id, t.sender_wallet,
                  t.recipient_wallet
    ), g AS MATERIALIZED (
        -- only the failing groups: an unbalanced transaction, or a tip whose legs are wrong
        SELECT x.* FROM (
            SELECT a.*,
                   a.tip_id IS NOT NULL
                   AND (a.sender_wallet IS NULL OR a.recipient_wallet IS NULL
                        OR a.entries = 0 OR a.sender_amount <> -a.amount OR a.credits <> a.amount OR a.bad_refs <> 0
                        OR (NOT a.escrowed AND (a.recipient_amount <> a.amount - a.fee OR a.fee_amount <> a.fee))
                        OR (a.escrowed AND (a.recipient_amount <> 0 OR a.fee_amount <> 0
                                            OR a.escrow_amount <> a.amount))) AS bad_tip
              FROM agg AS a) AS x
         WHERE x.total <> 0 OR x.bad_tip
    )
    -- Reported at the transaction's smallest wallet id.
    SELECT 'transaction_unbalanced'::text,
           (SELECT l.wallet_id FROM lp.ledger AS l
             WHERE l.transaction_id = g.tx AND l.created_at >= v_lo AND l.created_at < v_hi
             ORDER BY l.wallet_id LIMIT 1),
           NULL::smallint, g.tx, format('entries sum to %s over %s entries', g.total, g.entries)
      FROM g WHERE g.total <> 0 AND g.entries > 0
    UNION ALL
    SELECT 'tip_transaction'::text, coalesce(g.sender_wallet, g.recipient_wallet), NULL::smallint, g.tx,
           CASE WHEN g.sender_wallet IS NULL OR g.recipient_wallet IS NULL
                THEN format('tip %s: sender %s (%s), recipient %s (%s)', g.tip_id,
                            g.sender_id, CASE WHEN g.sender_wallet IS NULL THEN 'no wallet' ELSE 'wallet' END,
                            g.recipient_id, CASE WHEN g.recipient_wallet IS NULL THEN 'no wallet' ELSE 'wallet' END)
                WHEN g.entries = 0 THEN format('tip %s: no ledger entries', g.tip_id)
                ELSE format('tip %s of %s (fee %s%s): sender %s, recipient %s, platform fees %s, credits %s, '
                            '%s entries referencing another object', g.tip_id, g.amount, g.fee,
                            CASE WHEN g.escrowed THEN ', escrowed' ELSE '' END, g.sender_amount,
                            g.recipient_amount, g.fee_amount, g.credits, g.bad_refs) END
      FROM g WHERE g.bad_tip;

    -- The settlement of an escrowed tip of the period: escrow -amount; paid out (completed): recipient
    -- +(amount - fee), platform fees +fee; paid back (refunded): sender +amount; nothing else.
    RETURN QUERY
    SELECT 'tip_settlement'::text, t.sender_wallet, NULL::smallint, t.tx,
           format('settlement of tip %s (%s) of %s (fee %s): escrow %s, sender %s, recipient %s, platform fees %s, '
                  'entries %s', t.tip_id, t.status, t.amount, t.fee, t.escrow_amount, t.sender_amount,
                  t.recipient_amount, t.fee_amount, t.entries)
      FROM (SELECT tp.id AS tip_id, tp.settlement_id AS tx, tp.status, tp.amount, tp.fee_amount AS fee,
                   sw.id AS sender_wallet, count(l.id) AS entries,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = v_escrow), 0) AS escrow_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = sw.id), 0) AS sender_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = rw.id), 0) AS recipient_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = v_fees), 0) AS fee_amount,
                   count(l.id) FILTER (WHERE l.reference_type <> 'tip' OR l.reference_id <> tp.id) AS bad_refs
              FROM lp.tips AS tp
              JOIN lp.wallets AS sw ON sw.user_id = tp.sender_id
              JOIN lp.wallets AS rw ON rw.user_id = tp.recipient_id
              LEFT JOIN lp.ledger AS l ON l.transaction_id = tp.settlement_id
             WHERE tp.settlement_id IS NOT NULL AND tp.created_at >= v_lo AND tp.created_at < v_hi
             GROUP BY tp.id, sw.id, rw.id) AS t
     WHERE t.bad_refs <> 0 OR t.escrow_amount <> -t.amount
        OR (t.status = 'completed' AND (t.recipient_amount <> t.amount - t.fee OR t.fee_amount <> t.fee
                                        OR t.sender_amount <> 0 OR t.entries > 3))
        OR (t.status = 'refunded' AND (t.sender_amount <> t.amount OR t.recipient_amount <> 0 OR t.fee_amount <> 0
                                       OR t.entries <> 2))
        OR t.status NOT IN ('completed', 'refunded')
    UNION ALL
    -- Every hold capture of the period: holder -amount, payee (or the in-transit wallet of a payee's other shard)
    -- +(amount - fee), platform fees +fee.
    SELECT 'hold_capture_transaction', c.holder_wallet, NULL::smallint, c.tx,
           CASE WHEN c.entries = 0 THEN format('capture %s of hold %s: no ledger entries', c.capture_id, c.hold_id)
                ELSE format('capture %s of hold %s, %s (fee %s): holder %s, payee %s, platform fees %s, credits %s',
                            c.capture_id, c.hold_id, c.amount, c.fee, c.holder_amount, c.payee_amount,
                            c.fee_amount, c.credits) END
      FROM (SELECT hc.id AS capture_id, hc.hold_id, hc.transaction_id AS tx, hc.amount, hc.fee_amount AS fee,
                   h.wallet_id AS holder_wallet, count(l.id) AS entries,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = h.wallet_id), 0) AS holder_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = coalesce(pw.id, tw.id)), 0) AS payee_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = v_fees), 0) AS fee_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.amount > 0), 0) AS credits
              FROM lp.hold_captures AS hc
              JOIN lp.holds AS h ON h.id = hc.hold_id
              LEFT JOIN lp.wallets AS pw ON pw.user_id = h.payee_id
              -- A payee of another shard (a stub here, no wallet): their part went to the in-transit wallet of
              -- their shard, with the capture's outbox row (lp.capture_hold).
              LEFT JOIN lp.transfers_out AS t ON pw.id IS NULL AND t.hold_id = hc.hold_id
                                             AND t.transaction_id = hc.transaction_id
              LEFT JOIN lp.wallets AS tw ON tw.system_code = 'transit_' || t.to_shard
              LEFT JOIN lp.ledger AS l ON l.transaction_id = hc.transaction_id AND l.created_at = hc.created_at
             WHERE hc.created_at >= v_lo AND hc.created_at < v_hi
             GROUP BY hc.id, h.wallet_id, pw.id, tw.id) AS c
     WHERE c.entries = 0 OR c.holder_amount <> -c.amount OR c.payee_amount <> c.amount - c.fee
        OR c.fee_amount <> c.fee OR c.credits <> c.amount;

    -- Tips across the shards of a sharded installation (docs/scale-out.md; none on a single node), checked on
    -- each side with what that side holds. (h) The sender's shard, each outbox row of a tip (lp.transfers_out,
    -- reference transfer): sender -amount, platform fees +fee, the in-transit wallet of to_shard +(amount - fee),
    -- nothing else.
    RETURN QUERY
    SELECT 'tip_transaction'::text, c.sender_wallet, NULL::smallint, c.tx,
           format('cross-shard tip %s of %s (fee %s) to shard %s: sender %s, platform fees %s, in transit %s, '
                  'entries %s, %s referencing another object', c.id, c.amount, c.fee, c.to_shard, c.sender_amount,
                  c.fee_amount, c.transit_amount, c.entries, c.bad_refs)
      FROM (SELECT o.id, o.transaction_id AS tx, o.amount, o.fee_amount AS fee, o.to_shard, sw.id AS sender_wallet,
                   count(l.id) AS entries,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = sw.id), 0) AS sender_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = v_fees), 0) AS fee_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = tw.id), 0) AS transit_amount,
                   count(l.id) FILTER (WHERE l.reference_type <> 'transfer' OR l.reference_id <> o.id) AS bad_refs
              FROM lp.transfers_out AS o
              LEFT JOIN lp.wallets AS sw ON sw.user_id = o.sender_id
              LEFT JOIN lp.wallets AS tw ON tw.system_code = 'transit_' || o.to_shard
              LEFT JOIN lp.ledger AS l ON l.transaction_id = o.transaction_id AND l.created_at = o.created_at
             WHERE o.hold_id IS NULL AND o.refund_of IS NULL AND o.created_at >= v_lo AND o.created_at < v_hi
             GROUP BY o.id, sw.id, tw.id) AS c
     WHERE c.sender_amount <> -c.amount OR c.fee_amount <> c.fee OR c.transit_amount <> c.amount - c.fee
        OR c.bad_refs <> 0
        OR c.entries <> 1 + (c.fee > 0)::integer + (c.amount > c.fee)::integer;

    -- (i) The performer's shard, each tip it received from another (lp.tips with its lp.transfers_in row,
    -- reference transfer): the in-transit wallet of from_shard -(amount - fee), the performer +(amount - fee),
    -- or, escrowed for a goal (status escrowed, or settled), goal_escrow +(amount - fee); nothing else (no
    -- entry at all when the fee was the whole tip, nor for its settlement). Its
    -- settlement (reference tip): goal_escrow -(amount - fee), then paid out (completed): the performer
    -- +(amount - fee); or sent back (refunded): the in-transit wallet of from_shard +(amount - fee) and the one
    -- outbox row of the refund (refund_of, that amount, fee 0, to from_shard, in the settlement's transaction).
    -- And the tip's users (lp.tips has no foreign key onto lp.users, 0048): the sender and recipient of its
    -- lp.transfers_in row, the sender a user row here (their stub), the recipient one with a wallet.
    -- The lp.transfers_in row was written with the tip (the same created_at): read within the period.
    RETURN QUERY
    SELECT 'tip_transaction'::text, c.recipient_wallet, NULL::smallint, c.tx,
           CASE WHEN NOT c.users_match OR c.sender_row IS NULL OR c.recipient_wallet IS NULL
                THEN format('cross-shard tip %s from shard %s: sender %s (%s), recipient %s (%s)%s', c.id,
                            c.from_shard, c.sender_id,
                            CASE WHEN c.sender_row IS NULL THEN 'no user row here' ELSE 'stub' END,
                            c.recipient_id, CASE WHEN c.recipient_wallet IS NULL THEN 'no wallet' ELSE 'wallet' END,
                            CASE WHEN c.users_match THEN '' ELSE ', not the users of its transfer' END)
                ELSE format('cross-shard tip %s from shard %s, %s (%s%s): in transit %s, recipient %s, escrow %s, '
                            'entries %s, %s referencing another object', c.id, c.from_shard, c.net, c.status,
                            CASE WHEN c.escrowed THEN ', escrowed' ELSE '' END, c.transit_amount, c.recipient_amount,
                            c.escrow_amount, c.entries, c.bad_refs) END
      FROM (SELECT tp.id, tp.transaction_id AS tx, tp.status, i.amount AS net, i.from_shard,
                   (tp.status = 'escrowed' OR tp.settlement_id IS NOT NULL) AS escrowed,
                   tp.sender_id, tp.recipient_id, su.id AS sender_row,
                   (tp.sender_id = i.sender_id AND tp.recipient_id = i.recipient_id) AS users_match,
                   rw.id AS recipient_wallet, count(l.id) AS entries,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = tw.id), 0) AS transit_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = rw.id), 0) AS recipient_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = v_escrow), 0) AS escrow_amount,
                   count(l.id) FILTER (WHERE l.reference_type <> 'transfer' OR l.reference_id <> tp.id) AS bad_refs
              FROM lp.tips AS tp
              JOIN lp.transfers_in AS i ON i.id = tp.id AND i.hold_id IS NULL AND i.refund_of IS NULL
                                       AND i.created_at >= v_lo AND i.created_at < v_hi
              LEFT JOIN lp.users AS su ON su.id = tp.sender_id
              LEFT JOIN lp.wallets AS rw ON rw.user_id = tp.recipient_id
              LEFT JOIN lp.wallets AS tw ON tw.system_code = 'transit_' || i.from_shard
              LEFT JOIN lp.ledger AS l ON l.transaction_id = tp.transaction_id AND l.created_at = tp.created_at
             WHERE tp.created_at >= v_lo AND tp.created_at < v_hi
             GROUP BY tp.id, i.amount, i.from_shard, i.sender_id, i.recipient_id, su.id, rw.id, tw.id) AS c
     WHERE NOT c.users_match OR c.sender_row IS NULL OR c.recipient_wallet IS NULL
        OR c.entries <> 2 * (c.net > 0)::integer OR c.transit_amount <> -c.net OR c.bad_refs <> 0
        OR (c.escrowed AND (c.escrow_amount <> c.net OR c.recipient_amount <> 0))
        OR (NOT c.escrowed AND (c.recipient_amount <> c.net OR c.escrow_amount <> 0))
    UNION ALL
    SELECT 'tip_settlement'::text, c.recipient_wallet, NULL::smallint, c.tx,
           format('settlement of cross-shard tip %s (%s) from shard %s, %s in escrow: escrow %s, recipient %s, '
                  'in transit %s, refund rows %s, entries %s', c.id, c.status, c.from_shard, c.net, c.escrow_amount,
                  c.recipient_amount, c.transit_amount, c.refund_rows, c.entries)
      FROM (SELECT tp.id, tp.settlement_id AS tx, tp.status, i.amount AS net, i.from_shard,
                   rw.id AS recipient_wallet, count(l.id) AS entries,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = v_escrow), 0) AS escrow_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = rw.id), 0) AS recipient_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = tw.id), 0) AS transit_amount,
                   count(l.id) FILTER (WHERE l.reference_type <> 'tip' OR l.reference_id <> tp.id) AS bad_refs,
                   (SELECT count(*) FROM lp.transfers_out AS o
                     WHERE o.refund_of = tp.id AND o.to_shard = i.from_shard AND o.sender_id = tp.sender_id
                       AND o.recipient_id = tp.sender_id AND o.amount = i.amount AND o.fee_amount = 0
                       AND o.transaction_id = tp.settlement_id) AS refund_rows
              FROM lp.tips AS tp
              JOIN lp.transfers_in AS i ON i.id = tp.id AND i.hold_id IS NULL AND i.refund_of IS NULL
                                       AND i.created_at >= v_lo AND i.created_at < v_hi
              LEFT JOIN lp.wallets AS rw ON rw.user_id = tp.recipient_id
              LEFT JOIN lp.wallets AS tw ON tw.system_code = 'transit_' || i.from_shard
              LEFT JOIN lp.ledger AS l ON l.transaction_id = tp.settlement_id
             WHERE tp.settlement_id IS NOT NULL AND tp.created_at >= v_lo AND tp.created_at < v_hi
             GROUP BY tp.id, i.amount, i.from_shard, rw.id, tw.id) AS c
     WHERE c.entries <> 2 * (c.net > 0)::integer OR c.escrow_amount <> -c.net OR c.bad_refs <> 0
        OR (c.status = 'completed' AND (c.recipient_amount <> c.net OR c.refund_rows <> 0))
        OR (c.status = 'refunded' AND (c.transit_amount <> c.net OR c.refund_rows <> 1))
        OR c.status NOT IN ('completed', 'refunded');

    -- (j) The sender's shard, each refund that came back (lp.transfers_in.refund_of, reference transfer): it
    -- names a tip this shard sent to from_shard for the refunded user, with the amount it sent in transit; the
    -- in-transit wallet of from_shard -(amount - fee), platform fees -fee, the sender +amount; nothing else.
    -- Or, when the refund made good what a chargeback wrote off for the sender while the tip was out
    -- (shard.transfer_in), the amount split between the sender and chargeback_losses (entry kind write_off),
    -- neither negative.
    RETURN QUERY
    SELECT 'tip_settlement'::text, c.sender_wallet, NULL::smallint, c.tx,
           format('refund %s of cross-shard tip %s (%s, fee %s) from shard %s, %s in transit: in transit %s, '
                  'platform fees %s, sender %s, chargeback losses %s, entries %s, %s referencing another object',
                  c.id, c.refund_of, c.sent, c.fee, c.from_shard, c.net, c.transit_amount, c.fee_amount,
                  c.sender_amount, c.losses_amount, c.entries, c.bad_refs)
      FROM (SELECT i.id, i.refund_of, i.transaction_id AS tx, i.amount AS net, i.tip_amount, i.from_shard,
                   sw.id AS sender_wallet, o.id AS tip, o.amount AS sent, o.fee_amount AS fee, count(l.id) AS entries,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = tw.id), 0) AS transit_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = v_fees), 0) AS fee_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = sw.id), 0) AS sender_amount,
                   coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = v_losses AND l.entry_kind = 'write_off'), 0)
                       AS losses_amount,
                   count(l.id) FILTER (WHERE l.wallet_id = v_losses) AS losses_entries,
                   count(l.id) FILTER (WHERE l.reference_type <> 'transfer' OR l.reference_id <> i.id) AS bad_refs
              FROM lp.transfers_in AS i
              LEFT JOIN lp.transfers_out AS o
                ON o.id = i.refund_of AND o.hold_id IS NULL AND o.refund_of IS NULL AND o.to_shard = i.from_shard
               AND o.sender_id = i.recipient_id
              LEFT JOIN lp.wallets AS sw ON sw.user_id = i.recipient_id
              LEFT JOIN lp.wallets AS tw ON tw.system_code = 'transit_' || i.from_shard
              LEFT JOIN lp.ledger AS l ON l.transaction_id = i.transaction_id AND l.created_at = i.created_at
             WHERE i.refund_of IS NOT NULL AND i.created_at >= v_lo AND i.created_at < v_hi
             GROUP BY i.id, o.id, sw.id, tw.id) AS c
     WHERE c.tip IS NULL OR c.sent <> c.tip_amount OR c.sent - c.fee <> c.net OR c.transit_amount <> -c.net
        OR c.fee_amount <> -c.fee OR c.sender_amount < 0 OR c.losses_amount < 0
        OR c.sender_amount + c.losses_amount <> c.sent OR c.bad_refs <> 0
        OR c.losses_entries <> (c.losses_amount > 0)::integer
        OR c.entries <> (c.sender_amount > 0)::integer + (c.losses_amount > 0)::integer + (c.net > 0)::integer
                        + (c.fee > 0)::integer;
END
$$;
COMMENT ON FUNCTION api.verify_ledger_period(timestamptz, timestamptz) IS 'The transaction pass of the ledger verification for one period: every ledger transaction, tip and hold capture created in [p_period_from, p_period_to) (NULL = open), one row per violation (no rows: sound). check_name: transaction_unbalanced, tip_transaction, tip_settlement, hold_capture_transaction (as api.verify_ledger; on a shard of a sharded installation tip_transaction and tip_settlement also check each side of the tips across shards: the outbox row''s debit, the credit received, its escrow settlement and a refund''s return). A ledger transaction''s entries, its tip and its capture share one time, so periods that cover the time line (api.ledger_periods) check each exactly once. Rows before the archive boundary are in the archive files and not checked. The livepanty_service role, or an acting admin (LP001 / LP002 otherwise); LP018 when p_period_from is later than p_period_to.';
REVOKE ALL ON FUNCTION api.verify_ledger_period(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.verify_ledger_period(timestamptz, timestamptz) TO livepanty_app, livepanty_service;
