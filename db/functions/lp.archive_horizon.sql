CREATE FUNCTION lp.archive_horizon() RETURNS timestamptz
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- The newest archive boundary allowed now. What reads the recent ledger by time, and has no carry-forward
    -- in a checkpoint, must find every entry of its window in the database:
    --   lp.spending_limit_usage: the last 720 hours (its longest window, the monthly limit);
    --   lp.payable_tokens, api.earnings_summary: the last payouts.hold_days days (earnings still in the payout
    --   hold; lp.payable_tokens counts the archived earnings, lp.earnings_checkpoints, as matured).
    SELECT now() - greatest(interval '720 hours',
                            make_interval(days => (lp.setting('payouts.hold_days'))::integer))
$$;
COMMENT ON FUNCTION lp.archive_horizon() IS 'Owner only: the newest archive boundary allowed now (api.archive_prepare and api.archive_detach refuse a later one, LP190): now minus the longest window read from the recent ledger without a checkpoint, the 720 hours of lp.spending_limit_usage''s monthly limit or payouts.hold_days (the earnings still in the payout hold), whichever is longer.';
REVOKE ALL ON FUNCTION lp.archive_horizon() FROM PUBLIC;
