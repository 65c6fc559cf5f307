CREATE FUNCTION lp.check_spending_limit(p_user_id uuid, p_amount bigint, p_wait boolean DEFAULT true) RETURNS void
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
    -- after the hold row it inserted, which nobody else sees yet, and before the wallet; a show's top-up,
    -- lp.extend_hold: the billing job took these rows SKIP LOCKED before the viewer's wallet, so here they are
    -- its own), so it never interferes with lp.post's order. Whoever waits for these rows holds no other hold
    -- row that another transaction could wait for here (only due holds are waited for below, and the new hold
    -- of api.place_hold, a show's unsettled reservation, are never due for another transaction).
    PERFORM 1 FROM lp.spending_limits AS l WHERE l.user_id = p_user_id ORDER BY l.period FOR NO KEY UPDATE;
    -- A due hold (lp.hold_due) is not counted as reserved: no statement that starts now may capture it. But a
    -- transaction that holds its row may still change it: a capture whose statement started before the expiry
    -- (what it takes is spent once it commits), or an expiry or release (its tokens are free once it commits).
    -- Which one cannot be told from here, so the user's due holds are locked, in id order, waiting for such a
    -- transaction (p_wait): once it is over, a hold still open and due is this transaction's (the caller
    -- expires it before it reserves or debits: lp.reserve, lp.post), one expired or released drops out, and
    -- what a capture took is spent in the ledger that spending_limit_usage reads below (a statement of its own,
    -- so a snapshot taken after the wait). Counting such a hold whole, unseen, refused a tip for tokens the
    -- expiry job was freeing at that moment; not counting it let a capture in flight pass the limit. The wait
    -- closes no cycle (docs/ledger.md, "Lock protocol"): the callers hold no wallet or shard yet, and whoever
    -- holds a due hold waits only for wallets and shards (the expiry job, lp.lock_hold's callers), never for
    -- a spend counter, a claim, a limit row or a stream. The billing job (api.bill_shows, through
    -- lp.extend_hold) holds the viewer's wallet row by then, so it must not wait: it locked the viewer's due
    -- holds SKIP LOCKED before the wallet (a viewer with a busy one is billed on a later call), and with
    -- p_wait false a due hold another transaction holds still counts, with all it reserves (never past the
    -- limit; in that job only a hold committed since its lock, which its clock already sees due, can be one).
    SELECT w.id INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = p_user_id;
    IF p_wait THEN
        PERFORM 1 FROM lp.holds AS h
         WHERE h.wallet_id = v_wallet AND h.status = 'open' AND lp.hold_due(h)
         ORDER BY h.id
           FOR UPDATE;
        v_busy := 0;
    ELSE
        v_mine := ARRAY(SELECT h.id FROM lp.holds AS h
                         WHERE h.wallet_id = v_wallet AND h.status = 'open' AND lp.hold_due(h)
                           FOR UPDATE SKIP LOCKED);
        SELECT coalesce(sum(h.amount - h.captured), 0)::bigint INTO v_busy FROM lp.holds AS h
         WHERE h.wallet_id = v_wallet AND h.status = 'open' AND lp.hold_due(h) AND h.id <> ALL (v_mine);
    END IF;
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
COMMENT ON FUNCTION lp.check_spending_limit(uuid, bigint, boolean) IS 'LP105 when spending p_amount more would exceed one of the user''s limits in force (lp.spending_limit_usage): tips and hold captures over the rolling day/7 days/30 days, plus tokens still reserved by open holds that are not due (lp.hold_due). The user''s due holds are locked here for the caller to expire, waiting for a transaction that holds one (a capture judged before the expiry, an expiry or release in flight: what it leaves is counted once it is over); with p_wait false (the billing job, which holds the wallet row) never waiting: a due hold another transaction holds counts, with all it reserves. Serialises the spends of users who have a limit (a lock on their lp.spending_limits rows until commit); call it before locking any row of the spender''s wallet or holds.';
REVOKE ALL ON FUNCTION lp.check_spending_limit(uuid, bigint, boolean) FROM PUBLIC;
