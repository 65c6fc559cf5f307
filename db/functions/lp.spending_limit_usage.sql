CREATE FUNCTION lp.spending_limit_usage(p_user_id uuid)
RETURNS TABLE (
    period               text,
    limit_tokens         bigint,
    pending_limit_tokens bigint,
    pending_effective_at timestamptz,
    window_start         timestamptz,
    spent                bigint,
    reserved             bigint
)
    LANGUAGE sql STABLE
AS $$
    -- A pending change whose time has come is in force even before anything rewrites the row: the cap is
    -- then the pending value (NULL: the limit was removed) and nothing is pending any more.
    WITH l AS (
        SELECT l.period,
               CASE WHEN l.pending_effective_at <= now() THEN l.pending_limit_tokens ELSE l.limit_tokens END AS cap,
               CASE WHEN l.pending_effective_at > now() THEN l.pending_limit_tokens END AS pending,
               CASE WHEN l.pending_effective_at > now() THEN l.pending_effective_at END AS pending_at,
               now() - CASE l.period WHEN 'daily' THEN interval '24 hours' WHEN 'weekly' THEN interval '168 hours'
                                     ELSE interval '720 hours' END AS since
          FROM lp.spending_limits AS l
         WHERE l.user_id = p_user_id
    ), w AS (
        SELECT w.id FROM lp.wallets AS w WHERE w.user_id = p_user_id
    )
    SELECT l.period::text, l.cap, l.pending, l.pending_at, l.since,
           -- Spent: tips and hold captures debited from the main balance in the rolling window. Its entries are
           -- never archived: no archive boundary is later than now - 720 hours (lp.archive_horizon).
           (SELECT coalesce(sum(-e.amount), 0)
              FROM lp.ledger AS e
             WHERE e.wallet_id = (SELECT w.id FROM w) AND e.created_at > l.since
               AND e.shard = 0 AND e.amount < 0 AND e.entry_kind IN ('tip', 'hold_capture'))::bigint,
           -- Reserved: what open holds may still capture. A due hold (lp.hold_due: past its expiry at the start
           -- of this statement, the clock a capture is judged by) can no longer be captured: it is released as
           -- soon as anything touches it, so it does not count; a show's unsettled reservation always counts.
           -- (lp.check_spending_limit also counts a due hold another transaction holds at that moment.)
           (SELECT coalesce(sum(h.amount - h.captured), 0)
              FROM lp.holds AS h
             WHERE h.wallet_id = (SELECT w.id FROM w) AND h.status = 'open' AND NOT lp.hold_due(h))::bigint
      FROM l
     WHERE l.cap IS NOT NULL OR l.pending_at IS NOT NULL
     ORDER BY l.period  -- the enum's order: daily, weekly, monthly
$$;
COMMENT ON FUNCTION lp.spending_limit_usage(uuid) IS 'The spending limits of a user as they stand now (a pending raise or removal whose time has come is applied), each with its rolling window (1 day, 7 days, 30 days), the tokens spent in it (tips and hold captures) and the tokens open holds still reserve. Shared by lp.check_spending_limit and api.get_spending_limits so the two always agree.';
REVOKE ALL ON FUNCTION lp.spending_limit_usage(uuid) FROM PUBLIC;
