CREATE FUNCTION lp.check_spending_limit(p_user_id uuid, p_amount bigint) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    v_limit  record;
    v_wallet uuid;
    v_mine   uuid[];
    v_busy   bigint;
BEGIN
    -- Most users set no limit: one primary-key probe and out (no lock, nothing else read).
    IF NOT EXISTS (SELECT 1 FROM lp.spending_limits AS l
                    WHERE l.user_id = p_user_id
                      AND (l.limit_tokens IS NOT NULL OR l.pending_limit_tokens IS NOT NULL)) THEN
        RETURN;
    END IF;
    -- Serialise the spends of a user who has a limit: without this, two concurrent tips could each see the
    -- other's tokens as unspent and together pass the cap. The lock is released at commit, so the queries
    -- below (each statement takes a new snapshot under READ COMMITTED, the application's isolation level;
    -- hence VOLATILE) see every spend that committed before. It locks the user's own limit rows, which no
    -- application role may lock (an advisory lock on a guessable key could be held by any login to block the
    -- user's spending), and callers take it before any wallet lock (api.tip before lp.post; api.place_hold
    -- and a show's top-up, lp.extend_hold, after the hold row they hold and before the wallet), so it never
    -- interferes with lp.post's order: nothing waits for a hold row while holding these rows.
    PERFORM 1 FROM lp.spending_limits AS l WHERE l.user_id = p_user_id ORDER BY l.period FOR NO KEY UPDATE;
    -- A due hold (lp.hold_due) is not counted as reserved: no statement that starts now may capture it. But a
    -- capture whose statement started before the expiry may be taking it right now, in a transaction that
    -- holds the hold's row: until that commits, what it takes is neither spent nor reserved as seen here. So
    -- the user's due holds are locked here (SKIP LOCKED: never waits, so it closes no cycle with the limit rows
    -- held; the caller expires them before it reserves or debits: lp.reserve, lp.post), and those another
    -- transaction holds still count, with all they reserve. No hold neither counts nor is refused.
    SELECT w.id INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = p_user_id;
    v_mine := ARRAY(SELECT h.id FROM lp.holds AS h
                     WHERE h.wallet_id = v_wallet AND h.status = 'open' AND lp.hold_due(h)
                       FOR UPDATE SKIP LOCKED);
    SELECT coalesce(sum(h.amount - h.captured), 0)::bigint INTO v_busy FROM lp.holds AS h
     WHERE h.wallet_id = v_wallet AND h.status = 'open' AND lp.hold_due(h) AND h.id <> ALL (v_mine);
    FOR v_limit IN
        SELECT u.period, u.limit_tokens, u.spent, u.reserved
          FROM lp.spending_limit_usage(p_user_id) AS u
         WHERE u.limit_tokens IS NOT NULL
    LOOP
        IF v_limit.spent + v_limit.reserved + v_busy + p_amount > v_limit.limit_tokens THEN
            RAISE EXCEPTION USING ERRCODE = 'LP105', MESSAGE = format('%s spending limit reached', v_limit.period),
                DETAIL = format('limit %s tokens, spent %s, reserved by open holds %s, this spend %s',
                                v_limit.limit_tokens, v_limit.spent, v_limit.reserved + v_busy, p_amount),
                HINT = 'api.get_spending_limits() shows the limits and what is left.';
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION lp.check_spending_limit(uuid, bigint) IS 'LP105 when spending p_amount more would exceed one of the user''s limits in force (lp.spending_limit_usage): tips and hold captures over the rolling day/7 days/30 days, plus tokens still reserved by open holds that are not due (lp.hold_due) and by due holds another transaction holds at that moment (a capture judged before their expiry may be in flight; the user''s other due holds are locked here, SKIP LOCKED, for the caller to expire). Serialises the spends of users who have a limit (a lock on their lp.spending_limits rows until commit); call it before locking any row of the spender''s wallet or holds.';
REVOKE ALL ON FUNCTION lp.check_spending_limit(uuid, bigint) FROM PUBLIC;
