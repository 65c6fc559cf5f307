CREATE FUNCTION api.bill_shows()
RETURNS TABLE (
    show_id  uuid,
    user_id  uuid,
    captured bigint,
    released bigint,
    outcome  text
)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_timeout interval := make_interval(secs => (lp.setting('streams.viewer_timeout_seconds'))::integer);
    v_prepay  integer := (lp.setting('shows.prepay_minutes'))::integer;
    v_show    lp.shows;
    v_part    lp.show_participants;
    v_hold    lp.holds;
    v_due     bigint;
    v_need    bigint;
    v_left    bigint;
    v_take    bigint := 0::bigint;
    v_free    bigint := 0::bigint;
    v_outcome text;
    v_at      timestamptz;
    v_counted boolean;
    v_skipped uuid[] := ARRAY[]::uuid[];
    v_periods lp.limit_period[];
    v_due_ids uuid[];
BEGIN
    -- One step of show billing, in one transaction; `livepanty-db jobs bill-shows` calls it until it has
    -- nothing left to do, and any number of workers may (every row is taken SKIP LOCKED). Lock order: show
    -- rows, then participant rows (and the viewer's spend counter, SKIP LOCKED), then a hold, the viewer's
    -- limit rows and due holds, then the wallets (the viewer's SKIP LOCKED; then the capture's lp.post):
    -- business rows first. It waits for no transaction of a viewer.

    -- 1. Requests nobody answered in time expire (their reservations are released in step 3).
    FOR v_show IN
        SELECT s.* FROM lp.shows AS s WHERE s.status = 'requested' AND s.answer_by <= now()
         ORDER BY s.id FOR NO KEY UPDATE SKIP LOCKED
    LOOP
        PERFORM lp.finish_show(v_show, 'expired', 'system', 'not answered in time');
    END LOOP;

    -- 2. Viewers paying per minute who are no longer watching (no open viewing session of the stream, or one
    -- whose heartbeat is past streams.viewer_timeout_seconds) are out at their last heartbeat, by their doing;
    -- a private show whose payer is out ends. One last seen at or before their billed_from (gone before the
    -- start or their join without it being noticed then: they watched no minute) is out at billed_from owing
    -- nothing beyond what was captured, as a viewer who left before the start owes nothing.
    FOR v_show IN
        SELECT s.* FROM lp.shows AS s
         WHERE s.status = 'running'
           AND EXISTS (SELECT 1 FROM lp.show_participants AS p
                        WHERE p.show_id = s.id AND p.left_at IS NULL AND p.role <> 'ticket'
                          AND NOT lp.is_watching(s.stream_id, p.user_id, now() - v_timeout))
         ORDER BY s.id FOR NO KEY UPDATE SKIP LOCKED
    LOOP
        FOR v_part IN
            SELECT p.* FROM lp.show_participants AS p
             WHERE p.show_id = v_show.id AND p.left_at IS NULL AND p.role <> 'ticket'
               AND NOT lp.is_watching(v_show.stream_id, p.user_id, now() - v_timeout)
             ORDER BY p.id FOR NO KEY UPDATE SKIP LOCKED
        LOOP
            v_at := (SELECT max(coalesce(v.left_at, v.last_heartbeat_at)) FROM lp.stream_viewers AS v
                      WHERE v.stream_id = v_show.stream_id AND v.user_id = v_part.user_id);
            IF v_at <= v_part.billed_from THEN
                UPDATE lp.show_participants AS p
                   SET left_at = p.billed_from, viewer_caused = true, due_tokens = p.billed_tokens
                 WHERE p.id = v_part.id AND p.left_at IS NULL;
            ELSE
                v_at := least(now(), greatest(v_part.billed_from, v_at));
                PERFORM lp.close_participation(v_part, v_show, coalesce(v_at, now()), 'viewer');
            END IF;
            IF v_show.show_type = 'private' AND v_part.role = 'payer' THEN
                PERFORM lp.finish_show(v_show, 'ended', 'viewer', 'viewer lost connection');
            END IF;
        END LOOP;
    END LOOP;

    -- 2b. The rows a transition could not see or take: a viewer's own join or leave does not lock the show row
    -- and may stay open, and the transitions take participant rows SKIP LOCKED (docs/streams.md, Concurrency
    -- and idempotency). A participation without a billing start in a show that started (a join in flight at the
    -- start, or a row the start could not take) is billed from the start (or from the join, if later). One
    -- still in a show that is over (a join in flight at its end, a row the end could not take), or out of it
    -- after its end (a leave the end overtook), is out at the end, as the end decides: completed minutes only,
    -- so nobody is billed past the end. Taken SKIP LOCKED (a row still in flight is done on a later call) and
    -- left out of step 3 until done.
    FOR v_part IN
        SELECT p.* FROM lp.show_participants AS p
          JOIN lp.shows AS s ON s.id = p.show_id
         WHERE p.settled_at IS NULL
           AND ((s.ended_at IS NOT NULL AND (p.left_at IS NULL OR p.left_at > s.ended_at))
                OR (s.started_at IS NOT NULL AND p.billed_from IS NULL AND p.left_at IS NULL))
         ORDER BY p.id FOR NO KEY UPDATE OF p SKIP LOCKED
    LOOP
        SELECT s.* INTO v_show FROM lp.shows AS s WHERE s.id = v_part.show_id;
        IF v_part.billed_from IS NULL AND v_part.left_at IS NULL AND v_show.started_at IS NOT NULL THEN
            UPDATE lp.show_participants AS p SET billed_from = greatest(v_show.started_at, p.joined_at)
             WHERE p.id = v_part.id
            RETURNING p.* INTO v_part;
        END IF;
        IF v_show.ended_at IS NOT NULL AND (v_part.left_at IS NULL OR v_part.left_at > v_show.ended_at) THEN
            UPDATE lp.show_participants AS p
               SET left_at = v_show.ended_at, viewer_caused = false,
                   due_tokens = greatest(p.billed_tokens, lp.show_due(v_part, v_show, v_show.ended_at, 'host'))
             WHERE p.id = v_part.id;
        END IF;
    END LOOP;

    -- 3. One viewer's money: someone out of a show whose account is not settled yet (capture what they owe,
    -- release the rest), or someone in a running show with a minute completed and not captured (capture it,
    -- the reservation topped up shows.prepay_minutes ahead first), or a ticket of a show that started. The show
    -- row too (SKIP LOCKED): running out of tokens ends a private show. And the viewer's spend counter (a top-up
    -- counts toward the fraud controls, lp.extend_hold), SKIP LOCKED with them: a counter is taken before a show
    -- row (docs/ledger.md: api.refund_show), so the job never waits for one while it holds shows;
    -- a viewer whose counter is busy (a tip in flight) is billed on a later call.
    -- Then, in the order of docs/ledger.md, the viewer's rows that moving their money reaches: their hold (the
    -- job's alone while the part is unsettled: lp.authorize_hold_action), their spending-limit rows and their
    -- holds past their time (lp.check_spending_limit, in the top-up), then their wallet row (the top-up's
    -- lp.reserve, the capture's lp.post, the release's lp.close_hold), all SKIP LOCKED: a transaction of the
    -- viewer's own that holds one of them (a release of another hold, a purchase credited, a limit being set,
    -- left open) is not waited for, or one viewer's open transaction would hold up this job, the show rows it
    -- holds and every show after it. Such a viewer is left for a later call, and the next candidate is tried
    -- (the rows of the one left stay locked by this transaction until it ends, so they are not tried again).
    LOOP  -- until a viewer is billed (RETURN) or nobody is left (RETURN in the candidates' loop)
        LOOP
            SELECT p.* INTO v_part
              FROM lp.show_participants AS p
              JOIN lp.shows AS s ON s.id = p.show_id
              JOIN lp.spend_counters AS f ON f.user_id = p.user_id
             WHERE p.settled_at IS NULL AND p.id <> ALL (v_skipped)
               AND NOT (s.ended_at IS NOT NULL AND (p.left_at IS NULL OR p.left_at > s.ended_at))
               AND (p.due_tokens IS NOT NULL
                    OR (s.status = 'running' AND p.left_at IS NULL AND p.billed_from IS NOT NULL
                        AND lp.show_due(p, s, now(), 'running') > p.billed_tokens))
             ORDER BY p.due_tokens IS NULL, p.id
             LIMIT 1
               FOR NO KEY UPDATE OF s, p, f SKIP LOCKED;
            v_counted := v_part.id IS NOT NULL;
            IF NOT v_counted THEN
                -- A viewer without a counter row (their hold placed before holds were counted, lp.place_hold makes
                -- it now): billed as before, their top-ups not counted (making the row here could wait while shows
                -- are held).
                SELECT p.* INTO v_part
                  FROM lp.show_participants AS p
                  JOIN lp.shows AS s ON s.id = p.show_id
                 WHERE p.settled_at IS NULL AND p.id <> ALL (v_skipped)
                   AND NOT (s.ended_at IS NOT NULL AND (p.left_at IS NULL OR p.left_at > s.ended_at))
                   AND NOT EXISTS (SELECT 1 FROM lp.spend_counters AS f WHERE f.user_id = p.user_id)
                   AND (p.due_tokens IS NOT NULL
                        OR (s.status = 'running' AND p.left_at IS NULL AND p.billed_from IS NOT NULL
                            AND lp.show_due(p, s, now(), 'running') > p.billed_tokens))
                 ORDER BY p.due_tokens IS NULL, p.id
                 LIMIT 1
                   FOR NO KEY UPDATE OF s, p SKIP LOCKED;
            END IF;
            IF v_part.id IS NULL THEN
                RETURN;
            END IF;
            -- The hold SKIP LOCKED too: it is the job's alone while the part is unsettled, but the back office
            -- (livepanty_service, nobody acting: api.release_hold, api.capture_hold) may lock it in a transaction
            -- of its own, and the job waits for none.
            PERFORM 1 FROM lp.holds AS h WHERE h.id = v_part.hold_id FOR UPDATE SKIP LOCKED;
            IF FOUND THEN
                v_hold := lp.lock_hold(v_part.hold_id);  -- never expired while the part is unsettled (lp.hold_due)
                -- Every limit row, every due hold, then the wallet row: one busy, the viewer waits for a later call.
                v_periods := ARRAY(SELECT l.period FROM lp.spending_limits AS l WHERE l.user_id = v_hold.user_id
                                    ORDER BY l.period FOR NO KEY UPDATE SKIP LOCKED);
                IF NOT EXISTS (SELECT 1 FROM lp.spending_limits AS l
                                WHERE l.user_id = v_hold.user_id AND l.period <> ALL (v_periods)) THEN
                    v_due_ids := ARRAY(SELECT h.id FROM lp.holds AS h
                                        WHERE h.wallet_id = v_hold.wallet_id AND h.status = 'open' AND lp.hold_due(h)
                                        ORDER BY h.id FOR UPDATE SKIP LOCKED);
                    IF NOT EXISTS (SELECT 1 FROM lp.holds AS h
                                    WHERE h.wallet_id = v_hold.wallet_id AND h.status = 'open' AND lp.hold_due(h)
                                      AND h.id <> ALL (v_due_ids)) THEN
                        PERFORM 1 FROM lp.wallets AS w WHERE w.id = v_hold.wallet_id FOR NO KEY UPDATE SKIP LOCKED;
                        EXIT WHEN FOUND;
                    END IF;
                END IF;
            END IF;
            v_skipped := v_skipped || v_part.id;
        END LOOP;
        -- A busy credit shard of the viewer's (lp.extend_hold without p_wait: a credit in flight to a viewer who
        -- is a performer, which may be a transaction of theirs left open) is not waited for either: this
        -- viewer's step is undone (lock_not_available) and they are left for a later call, as above.
        BEGIN
            SELECT s.* INTO v_show FROM lp.shows AS s WHERE s.id = v_part.show_id;
            v_hold := lp.lock_hold(v_part.hold_id);  -- never expired while the part is unsettled (lp.hold_due)
            v_due := coalesce(v_part.due_tokens, lp.show_due(v_part, v_show, now(), 'running'));
            v_need := v_due - v_part.billed_tokens;
            v_left := CASE WHEN v_hold.status = 'open' THEN v_hold.amount - v_hold.captured ELSE 0 END;
            -- Top up before capturing (counter, hold, limits, wallet: the order of api.place_hold): what is due now and,
            -- for someone still in the show paying per minute, shows.prepay_minutes ahead (the minute in progress
            -- first). A new account's top-up past its daily cap is refused as one it cannot afford (lp.extend_hold).
            IF v_hold.status = 'open' THEN
                IF v_part.due_tokens IS NULL AND v_part.role <> 'ticket' AND v_left < v_need + v_part.rate * v_prepay THEN
                    IF NOT lp.extend_hold(v_hold, v_need + v_part.rate * v_prepay - v_left, v_counted, false) THEN
                        PERFORM lp.extend_hold(v_hold, greatest(v_need + v_part.rate - v_left, 0), v_counted, false);
                    END IF;
                ELSIF v_left < v_need THEN
                    PERFORM lp.extend_hold(v_hold, v_need - v_left, v_counted, false);
                END IF;
                SELECT h.* INTO v_hold FROM lp.holds AS h WHERE h.id = v_hold.id;
                v_left := v_hold.amount - v_hold.captured;
            END IF;
            -- Capture what is due, as far as the reservation goes (whole minutes, per minute).
            v_take := least(v_need, v_left);
            IF v_part.role <> 'ticket' AND v_take < v_need THEN
                v_take := (v_take / v_part.rate) * v_part.rate;
            END IF;
            IF v_take > 0 THEN
                BEGIN
                    PERFORM api.capture_hold(v_hold.id, v_take, format('show:%s:%s', v_part.id, v_part.billed_tokens + v_take));
                EXCEPTION WHEN SQLSTATE 'LP003' OR SQLSTATE 'LP108' OR SQLSTATE 'LP135' OR SQLSTATE 'LP100'
                            OR SQLSTATE 'LP107' THEN
                    -- The host may not be paid now (deleted, suspended, banned, identity verification lapsed) or the viewer cannot pay (a clawback put
                    -- them in debt): nothing more is billed, and the viewer is out and settled below, so one refusal
                    -- never holds up the billing of everyone after them.
                    v_outcome := format('not billed (%s)', SQLSTATE);
                    v_take := 0;
                    v_need := 0;
                    UPDATE lp.show_participants AS p
                       SET left_at = coalesce(p.left_at, now()), viewer_caused = coalesce(p.viewer_caused, false),
                           due_tokens = p.billed_tokens
                     WHERE p.id = v_part.id
                    RETURNING p.* INTO v_part;
                END;
            END IF;
            UPDATE lp.show_participants AS p SET billed_tokens = p.billed_tokens + v_take WHERE p.id = v_part.id
            RETURNING p.* INTO v_part;
            IF v_outcome IS NOT NULL THEN
                IF v_show.status = 'running' AND v_show.show_type = 'private' AND v_part.role = 'payer' THEN
                    PERFORM lp.finish_show(v_show, 'ended', 'system', v_outcome);
                END IF;
            ELSIF v_part.due_tokens IS NULL
               AND (v_take < v_need OR (v_part.role <> 'ticket' AND v_left - v_take < v_part.rate)) THEN
                -- They cannot pay what is due (a ticket whose hold is gone) or the minute in progress: out of the show
                -- now, owing what was captured.
                UPDATE lp.show_participants AS p
                   SET left_at = now(), viewer_caused = true, due_tokens = p.billed_tokens
                 WHERE p.id = v_part.id
                RETURNING p.* INTO v_part;
                v_outcome := 'out of tokens';
                IF v_show.show_type = 'private' AND v_part.role = 'payer' THEN
                    PERFORM lp.finish_show(v_show, 'ended', 'viewer', 'viewer out of tokens');
                END IF;
            ELSIF v_part.due_tokens IS NOT NULL AND v_take < v_need THEN
                -- Owed more than they can pay: what could not be reserved is not billed.
                UPDATE lp.show_participants AS p SET due_tokens = p.billed_tokens WHERE p.id = v_part.id
                RETURNING p.* INTO v_part;
            END IF;
            IF v_part.due_tokens IS NOT NULL THEN
                -- Settled: the rest of the reservation goes back.
                SELECT h.* INTO v_hold FROM lp.holds AS h WHERE h.id = v_hold.id;
                IF v_hold.status = 'open' THEN
                    v_free := v_hold.amount - v_hold.captured;
                    PERFORM lp.close_hold(v_hold.id, 'released');
                END IF;
                UPDATE lp.show_participants AS p SET settled_at = now() WHERE p.id = v_part.id;
                v_outcome := coalesce(v_outcome, 'settled');
            END IF;
            RETURN QUERY SELECT v_part.show_id, v_part.user_id, v_take, v_free, coalesce(v_outcome, 'billed');
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            v_skipped := v_skipped || v_part.id;
            v_outcome := NULL;
            v_take := 0;
            v_free := 0;
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION api.bill_shows() IS 'Back office job (livepanty-db jobs bill-shows calls it until it returns no row; any number of workers): expires unanswered private show requests; takes out viewers paying per minute who stopped watching (their last heartbeat; owing nothing when last seen at or before their billing started; a private show whose payer is gone ends); makes good the participations a start or an end could not see or take (a viewer''s join or leave in flight): billed from the show''s start, or out at its end owing completed minutes only; then bills one viewer: captures what they owe (each completed minute of a running show, a ticket once its show started, or their final amount once out: every started minute and the minimum when they ended it, completed minutes when the performer did), topping their reservation up shows.prepay_minutes ahead first (a top-up counts toward a new account''s daily tip cap, fraud.new_account_daily_tip_tokens: one past it is refused like one the viewer cannot afford), and once they are out releases the rest of it. A viewer whose reservation cannot cover the minute in progress is out (a private show ends). It waits for no transaction of a viewer: one whose spend counter, spending-limit rows, holds past their time or wallet row another transaction holds (a tip in flight, a transaction of theirs left open) is left for a later call, and the next viewer is billed. Idempotent per viewer and amount: no minute is billed twice, by one worker or two. A capture the ledger refuses (the host deleted or sanctioned, the viewer in debt) bills nothing more and settles that viewer (outcome not billed (code)), so it never blocks the others. Returns the viewer billed (captured, released, outcome billed / settled / out of tokens / not billed (code)), or no row.';
REVOKE ALL ON FUNCTION api.bill_shows() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.bill_shows() TO livepanty_service;
