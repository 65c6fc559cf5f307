CREATE FUNCTION lp.earnings_checkpoint(p_boundary timestamptz, p_prev timestamptz)
RETURNS TABLE (wallet_id uuid, earned bigint, spent bigint, refunded bigint)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- The carry-forward of lp.payable_tokens at p_boundary, per user wallet, with its filters: the entries
    -- created before p_boundary and at or after p_prev (the previous boundary, whose partitions may be archived:
    -- NULL, everything before p_boundary), plus the carry-forward recorded at p_prev. Wallets whose three sums
    -- are all 0 are left out.
    SELECT x.wallet_id, sum(x.earned)::bigint, sum(x.spent)::bigint, sum(x.refunded)::bigint
      FROM (SELECT l.wallet_id,
                   coalesce(sum(l.amount) FILTER (WHERE l.entry_kind IN ('tip', 'hold_capture') AND l.amount > 0), 0)
                       AS earned,
                   coalesce(sum(-l.amount) FILTER (WHERE l.shard = 0 AND l.amount < 0
                                                     AND (l.entry_kind IN ('tip', 'hold_capture', 'adjustment')
                                                          OR (l.entry_kind = 'refund' AND l.reference_type = 'show'))),
                            0) AS spent,
                   coalesce(sum(l.amount) FILTER (WHERE l.entry_kind = 'refund' AND l.amount > 0), 0) AS refunded
              FROM lp.ledger AS l
             WHERE l.created_at < p_boundary AND l.created_at >= coalesce(p_prev, '-infinity')
               AND l.entry_kind IN ('tip', 'hold_capture', 'adjustment', 'refund')
             GROUP BY l.wallet_id
            UNION ALL
            SELECT c.wallet_id, c.earned, c.spent, c.refunded
              FROM lp.earnings_checkpoints AS c
             WHERE c.boundary = p_prev) AS x
     WHERE EXISTS (SELECT 1 FROM lp.wallets AS w WHERE w.id = x.wallet_id AND w.kind = 'user')
     GROUP BY x.wallet_id
    HAVING sum(x.earned) <> 0 OR sum(x.spent) <> 0 OR sum(x.refunded) <> 0
$$;
COMMENT ON FUNCTION lp.earnings_checkpoint(timestamptz, timestamptz) IS 'Owner only: per user wallet, the sums lp.payable_tokens reads (earned: tip and hold_capture credits; spent: tips, hold captures, negative adjustments and a show''s give-back debited from the main balance; refunded: refund credits) over the entries before p_boundary, from those at or after p_prev plus the carry-forward recorded at p_prev (lp.earnings_checkpoints). What api.archive_prepare records at a boundary, and checks again on a second run.';
REVOKE ALL ON FUNCTION lp.earnings_checkpoint(timestamptz, timestamptz) FROM PUBLIC;
