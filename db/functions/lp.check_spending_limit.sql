CREATE FUNCTION lp.check_spending_limit(p_user_id uuid, p_amount bigint) RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    v_limit record;
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
    FOR v_limit IN
        SELECT u.period, u.limit_tokens, u.spent, u.reserved
          FROM lp.spending_limit_usage(p_user_id) AS u
         WHERE u.limit_tokens IS NOT NULL
    LOOP
        IF v_limit.spent + v_limit.reserved + p_amount > v_limit.limit_tokens THEN
            RAISE EXCEPTION USING ERRCODE = 'LP105', MESSAGE = format('%s spending limit reached', v_limit.period),
                DETAIL = format('limit %s tokens, spent %s, reserved by open holds %s, this spend %s',
                                v_limit.limit_tokens, v_limit.spent, v_limit.reserved, p_amount),
                HINT = 'api.get_spending_limits() shows the limits and what is left.';
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION lp.check_spending_limit(uuid, bigint) IS 'LP105 when spending p_amount more would exceed one of the user''s limits in force (lp.spending_limit_usage): tips and hold captures over the rolling day/7 days/30 days, plus tokens still reserved by unexpired open holds. Serialises the spends of users who have a limit (a lock on their lp.spending_limits rows until commit); call it before locking any row of the spender''s wallet or holds.';
REVOKE ALL ON FUNCTION lp.check_spending_limit(uuid, bigint) FROM PUBLIC;
