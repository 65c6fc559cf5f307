CREATE FUNCTION lp.hold_due(p_hold lp.holds) RETURNS boolean
    LANGUAGE sql STABLE
AS $$
    -- The expiry rule of holds, written once; every path that expires a hold or counts one as still able to be
    -- captured asks it (lp.lock_hold, lp.expire_due_holds, api.expire_holds, lp.post, lp.reserve, api.get_hold,
    -- api.list_holds, api.tip_many, lp.spending_limit_usage, lp.check_spending_limit).
    --   * The clock is statement_timestamp(), not now(): a transaction opened before the expiry cannot go on
    --     capturing (or counting as live) a hold that expired since. It is fixed for the whole statement, so
    --     the checks of one call (the hold's own lock, the holder's due holds in lp.post or lp.reserve, the
    --     spending limits) all agree on which holds are expired; and it is stable, so the expiry job's
    --     expires_at range is an index condition (clock_timestamp() would be re-read for every row).
    --   * A hold placed by this very transaction (created_at = now(), as lp.own_show_hold tells it) is not due
    --     in it: its life counts from the transaction's start (expires_at = created_at + lifetime), and the
    --     statement that placed it reserves it after expiring the holder's due holds (lp.reserve), so a
    --     lifetime shorter than the transaction's age must not close it before it is reserved. Other
    --     transactions see it only once committed, and judge it by their own clock.
    --   * A show's reservation never expires while the viewer's part in the show is not settled: the billing
    --     job (api.bill_shows) tops it up, captures every minute, and releases it when it settles the part.
    SELECT p_hold.status = 'open' AND p_hold.expires_at <= pg_catalog.statement_timestamp()
       AND p_hold.created_at <> pg_catalog.now()
       AND NOT EXISTS (SELECT 1 FROM lp.show_participants AS p
                        WHERE p.hold_id = p_hold.id AND p.settled_at IS NULL)
$$;
COMMENT ON FUNCTION lp.hold_due(lp.holds) IS 'Owner-only, the expiry rule of holds: true when the hold is open, its expires_at has passed at the start of the current statement (statement_timestamp(): a transaction opened earlier gets no grace), it was not placed by the current transaction, and it is not the reservation of a show participation that is not settled yet (api.bill_shows releases those). A due hold can no longer be captured or released and is expired by whatever touches it.';
REVOKE ALL ON FUNCTION lp.hold_due(lp.holds) FROM PUBLIC;
