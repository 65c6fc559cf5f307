CREATE FUNCTION lp.payable_tokens(p_wallet_id uuid) RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- Only earnings are paid out, and only once they are older than payouts.hold_days: tokens a performer
    -- bought (which a chargeback may still claw back) or earned recently are not payable. So:
    --   payable = max(0, min(available, matured earnings - tokens taken by payouts - tokens spent))
    -- available  = main balance + credit shards - reserved;
    -- matured    = positive tip and hold_capture credits (main balance or shard) older than the hold period;
    --              sweeps and returned payouts are not earnings, so nothing is counted twice;
    -- taken      = tokens of payouts requested, approved, sending or paid (rejected, failed and cancelled
    --              ones returned their tokens);
    -- spent      = what the wallet itself paid out in tips, hold captures and negative adjustments, and what a
    --              show's refund took back from its host (api.refund_show): spending consumes earnings first,
    --              so earnings spent (or given back) and replaced by bought tokens stay unpayable;
    --              what came back of such spending (a refund to the wallet: a tip toward a missed goal, a
    --              show's refund) is no longer spent.
    -- While ledger partitions are archived, the entries before the archive boundary are in the files (lp.payouts
    -- is not): the sums start from the carry-forward recorded at the boundary (lp.earnings_checkpoints, sums of
    -- the same entries) and add the entries from the boundary on. The archived earnings are matured: the boundary
    -- was at least payouts.hold_days old when archived (lp.archive_horizon); should the setting have grown past
    -- the boundary's age since, they are left out until it is that old again (never paid out too early).
    WITH a AS (
        SELECT lp.archive_boundary() AS boundary,
               now() - make_interval(days => (lp.setting('payouts.hold_days'))::integer) AS matured
    )
    SELECT greatest(0::bigint, least(
               w.balance - w.reserved
               + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)::bigint,
               coalesce((SELECT sum(l.amount) FROM lp.ledger AS l
                          WHERE l.wallet_id = w.id
                            AND l.entry_kind IN ('tip', 'hold_capture')
                            AND l.amount > 0
                            AND l.created_at >= coalesce(a.boundary, '-infinity')
                            AND l.created_at <= a.matured),
                        0)::bigint
               + CASE WHEN a.boundary <= a.matured THEN coalesce(e.earned, 0) ELSE 0 END
               - coalesce((SELECT sum(p.tokens) FROM lp.payouts AS p
                            WHERE p.user_id = w.user_id AND p.status IN ('requested', 'approved', 'sending', 'paid')), 0)::bigint
               - coalesce((SELECT sum(-l.amount) FROM lp.ledger AS l
                            WHERE l.wallet_id = w.id AND l.shard = 0 AND l.amount < 0
                              AND l.created_at >= coalesce(a.boundary, '-infinity')
                              AND (l.entry_kind IN ('tip', 'hold_capture', 'adjustment')
                                   OR (l.entry_kind = 'refund' AND l.reference_type = 'show'))), 0)::bigint
               - coalesce(e.spent, 0)
               + coalesce((SELECT sum(l.amount) FROM lp.ledger AS l
                            WHERE l.wallet_id = w.id AND l.amount > 0 AND l.entry_kind = 'refund'
                              AND l.created_at >= coalesce(a.boundary, '-infinity')), 0)::bigint
               + coalesce(e.refunded, 0)))
      FROM lp.wallets AS w
     CROSS JOIN a
      LEFT JOIN lp.earnings_checkpoints AS e ON e.boundary = a.boundary AND e.wallet_id = w.id
     WHERE w.id = p_wallet_id
$$;
COMMENT ON FUNCTION lp.payable_tokens(uuid) IS 'Tokens of a wallet that a payout may take now: earnings (tip and hold_capture credits) older than payouts.hold_days, minus what payouts already took and what the wallet spent (tips, hold captures, negative adjustments, a refunded show''s give-back by its host: spending consumes earnings first; less what came back to it in refunds, such as a tip toward a missed goal), and never more than the available balance (main balance + credit shards - reserved); at least 0. Bought tokens are never payable. While ledger partitions are archived, the sums of the entries before the archive boundary come from the carry-forward recorded there (lp.earnings_checkpoints), so the answer is the same as before the archive. api.request_payout sweeps the shards first and holds the wallet row locked while it checks.';
REVOKE ALL ON FUNCTION lp.payable_tokens(uuid) FROM PUBLIC;
