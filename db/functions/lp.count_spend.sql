CREATE FUNCTION lp.count_spend(p_user_id uuid, p_kind text, p_tokens bigint, p_key text DEFAULT NULL,
                               p_cross_shard boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
    SET plan_cache_mode = force_generic_plan
AS $$
-- The fraud controls of one tip or one purchase (issue 9, section 4), in one UPDATE of the spender's
-- lp.spend_counters row that also reads the settings (the first spend of a user inserts the row first).
-- Tokens reserved for a payee count as tips, so that they cannot be moved around the tip controls by a hold
-- and its capture: p_kind hold (a hold placed: lp.place_hold, also for shows) counts as a tip, one call and its
-- tokens; top_up (a show's reservation topped up by the billing job: lp.extend_hold) adds its tokens to the
-- day's tip tokens only (the daily cap), neither a call of the velocity rule nor a spend of the per-tip cap:
-- the holder decided once, when placing the hold, whose amount (at least one minute's rate) the per-tip cap
-- checked. Captures count nothing (what they take was counted when it was reserved).
--   LP160 a new account (younger than fraud.new_account_days, or no completed payment) over a cap;
--   LP161 the velocity rule: more tips (or purchases) in this UTC clock hour than fraud.tips_per_hour
--         (fraud.purchases_per_hour). The call that reaches the threshold passes and opens a fraud case in
--         the review queue (lp.open_case), which commits with it; the calls after it are refused. A refusal
--         rolls back, the counters with it, so nothing of a refused call remains.
-- Owner only; callers (api.tip, api.create_payment, lp.place_hold) run it before they claim or write anything
-- (a show's top-up: under the counter row its billing job locked with the participant), and it locks
-- the spender's counter row until commit (the spends of one user are serialised: api.tip_many takes the same
-- rows first, in user id order).
--
-- A spend is dated by its transaction's start (now()), and transactions commit out of start order: one that
-- began before an hour or day boundary may count after one that began past it. The counters then stay in the
-- later hour and day and count this spend there (never moved back: that threw away what the later transaction
-- counted, and the spends after it started again from zero).
DECLARE
    v_hour    timestamptz := date_trunc('hour', now(), 'UTC');
    v_day     timestamptz := date_trunc('day', now(), 'UTC');
    v_counted timestamptz;  -- the hour the counter counted this spend in (v_hour, or a later one)
    v_count   integer;
    v_tokens  bigint;
    v_created timestamptz;
    v_paid    timestamptz;
    v_cfg     jsonb;
    v_new     boolean;
    v_max     bigint;
    v_daily   bigint;
    v_rate    integer;
BEGIN
    FOR attempt IN 1 .. 2 LOOP
        IF p_kind <> 'purchase' THEN  -- tip, hold, top_up: the tip counters
            UPDATE lp.spend_counters AS f
               SET tips_in_hour = CASE WHEN f.tip_hour >= v_hour THEN f.tips_in_hour ELSE 0 END
                                  + CASE WHEN p_kind = 'top_up' THEN 0 ELSE 1 END,
                   tip_hour = greatest(f.tip_hour, v_hour),
                   tip_tokens_day = CASE WHEN f.tip_day >= v_day THEN f.tip_tokens_day + p_tokens ELSE p_tokens END,
                   tip_day = greatest(f.tip_day, v_day)
              FROM (SELECT jsonb_object_agg(s.key, s.value) AS j FROM lp.settings AS s
                     WHERE s.key IN ('fraud.new_account_days', 'fraud.new_account_max_tip',
                                     'fraud.new_account_daily_tip_tokens', 'fraud.tips_per_hour')) AS cfg
             WHERE f.user_id = p_user_id
            RETURNING f.tips_in_hour, f.tip_tokens_day, f.account_created_at, f.first_payment_at, cfg.j, f.tip_hour
                 INTO v_count, v_tokens, v_created, v_paid, v_cfg, v_counted;
        ELSE
            UPDATE lp.spend_counters AS f
               SET purchases_in_hour = CASE WHEN f.purchase_hour >= v_hour THEN f.purchases_in_hour + 1 ELSE 1 END,
                   purchase_hour = greatest(f.purchase_hour, v_hour),
                   purchase_tokens_day = CASE WHEN f.purchase_day >= v_day THEN f.purchase_tokens_day + p_tokens
                                              ELSE p_tokens END,
                   purchase_day = greatest(f.purchase_day, v_day)
              FROM (SELECT jsonb_object_agg(s.key, s.value) AS j FROM lp.settings AS s
                     WHERE s.key IN ('fraud.new_account_days', 'fraud.new_account_max_purchase',
                                     'fraud.new_account_daily_purchase_tokens', 'fraud.purchases_per_hour')) AS cfg
             WHERE f.user_id = p_user_id
            RETURNING f.purchases_in_hour, f.purchase_tokens_day, f.account_created_at, f.first_payment_at, cfg.j,
                      f.purchase_hour
                 INTO v_count, v_tokens, v_created, v_paid, v_cfg, v_counted;
        END IF;
        EXIT WHEN FOUND;
        PERFORM lp.ensure_spend_counter(p_user_id);
    END LOOP;
    IF v_count IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    -- One key names one tip, same-shard or cross-shard: for a cross-shard tip (shard.tip_out), the key in
    -- lp.tips, read now that the counter row is locked (a statement of its own: its snapshot is taken after the
    -- lock, where the UPDATE's subqueries would read the snapshot from before it waited). api.tip, which takes
    -- the same row first, claims its key after this; its claim reads lp.transfers_out the same way.
    IF p_cross_shard AND p_kind = 'tip' AND p_key IS NOT NULL
       AND EXISTS (SELECT 1 FROM lp.tips AS t WHERE t.sender_id = p_user_id AND t.idempotency_key = p_key) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different tip';
    END IF;

    v_new := v_paid IS NULL
             OR v_created > now() - make_interval(days => coalesce((v_cfg ->> 'fraud.new_account_days')::integer, 0));
    v_max := CASE WHEN p_kind = 'top_up' THEN 0
                  ELSE coalesce((v_cfg ->> CASE p_kind WHEN 'purchase' THEN 'fraud.new_account_max_purchase'
                                                       ELSE 'fraud.new_account_max_tip' END)::bigint, 0) END;
    v_daily := coalesce((v_cfg ->> CASE p_kind WHEN 'purchase' THEN 'fraud.new_account_daily_purchase_tokens'
                                               ELSE 'fraud.new_account_daily_tip_tokens' END)::bigint, 0);
    v_rate := CASE WHEN p_kind = 'top_up' THEN 0
                   ELSE coalesce((v_cfg ->> CASE p_kind WHEN 'purchase' THEN 'fraud.purchases_per_hour'
                                                        ELSE 'fraud.tips_per_hour' END)::integer, 0) END;
    -- A retry of a spend that committed while this call waited for the counter row (the same idempotency key,
    -- p_key) is not refused, nor does it open a case: its caller finds the key claimed and replays the
    -- spend, and takes its count back (lp.uncount_spend).
    IF p_key IS NOT NULL
       AND ((v_new AND v_max > 0 AND p_tokens > v_max) OR (v_new AND v_daily > 0 AND v_tokens > v_daily)
            OR (v_rate > 0 AND v_count >= v_rate))
       AND (CASE WHEN p_kind = 'tip' AND NOT p_cross_shard
                     THEN EXISTS (SELECT 1 FROM lp.tips AS t WHERE t.sender_id = p_user_id AND t.idempotency_key = p_key)
                 WHEN p_kind = 'tip'  -- the caller's own table: a tip to a performer of another shard (shard.tip_out)
                     THEN EXISTS (SELECT 1 FROM lp.transfers_out AS o
                                   WHERE o.sender_id = p_user_id AND o.idempotency_key = p_key
                                     AND o.hold_id IS NULL AND o.refund_of IS NULL)
                 WHEN p_kind = 'hold'
                     THEN EXISTS (SELECT 1 FROM lp.holds AS h WHERE h.user_id = p_user_id AND h.idempotency_key = p_key)
                 ELSE EXISTS (SELECT 1 FROM lp.payments AS y
                                      WHERE y.user_id = p_user_id AND y.idempotency_key = p_key) END) THEN
        RETURN;
    END IF;
    IF v_new AND v_max > 0 AND p_tokens > v_max THEN
        RAISE EXCEPTION USING ERRCODE = 'LP160', MESSAGE = format('a new account may %s at most %s tokens at once',
                                                                   CASE p_kind WHEN 'purchase' THEN 'buy'
                                                                               ELSE 'tip or reserve' END, v_max),
            DETAIL = format('%s of %s tokens; %s', p_kind, p_tokens,
                            CASE WHEN v_paid IS NULL THEN 'no completed payment yet'
                                 ELSE format('account created %s', v_created) END),
            HINT = 'The new-account caps end once the account is old enough and has a completed payment (api.get_fraud_limits).';
    END IF;
    IF v_new AND v_daily > 0 AND v_tokens > v_daily THEN
        RAISE EXCEPTION USING ERRCODE = 'LP160', MESSAGE = format('a new account may %s at most %s tokens a day',
                                                                   CASE p_kind WHEN 'purchase' THEN 'buy'
                                                                               ELSE 'tip or reserve' END, v_daily),
            DETAIL = format('%s tokens today with this %s of %s', v_tokens, p_kind, p_tokens),
            HINT = 'The new-account caps end once the account is old enough and has a completed payment (api.get_fraud_limits).';
    END IF;
    IF v_rate > 0 AND v_count > v_rate THEN
        RAISE EXCEPTION USING ERRCODE = 'LP161', MESSAGE = format('too many %s this hour',
                                                                   CASE p_kind WHEN 'purchase' THEN 'purchases'
                                                                               ELSE 'tips and holds' END),
            DETAIL = format('at most %s per clock hour (UTC); the account is in the fraud review queue', v_rate),
            HINT = format('Try again after %s.', v_counted + interval '1 hour');
    END IF;
    IF v_rate > 0 AND v_count = v_rate THEN
        -- The call that reaches the threshold commits, and with it the case (merged into the user's open fraud
        -- case when there is one): a refusal, rolled back, could not keep it.
        PERFORM lp.open_case('fraud', 'fraud', p_user_id, NULL,
                             jsonb_build_object('rule', 'velocity', 'kind', p_kind, 'per_hour', v_rate,
                                                'hour', v_counted),
                             NULL);
    END IF;
END
$$;
COMMENT ON FUNCTION lp.count_spend(uuid, text, bigint, text, boolean) IS 'Owner only: counts one tip or purchase (p_kind tip or purchase) of p_tokens for the fraud controls, in the user''s lp.spend_counters row (locked until commit). A hold placed (p_kind hold: lp.place_hold) counts as a tip; a show''s top-up (top_up: lp.extend_hold) only its tokens toward the daily tip cap. LP160 a new account (younger than fraud.new_account_days, or no completed payment) over fraud.new_account_max_tip / _daily_tip_tokens (purchases: fraud.new_account_max_purchase / _daily_purchase_tokens); LP161 over the velocity rule (fraud.tips_per_hour, fraud.purchases_per_hour per UTC clock hour). The call that reaches the velocity threshold opens a fraud case (lp.open_case). 0 switches a cap or rule off. With p_key (the idempotency key of the spend), a refusal is not raised when that key was claimed meanwhile in the caller''s own table (lp.tips, lp.holds for a hold, or lp.transfers_out with p_cross_shard: a concurrent retry, which replays and takes its count back with lp.uncount_spend); with p_cross_shard, LP106 when the key is claimed in lp.tips (read under the counter row''s lock: one key names one tip; api.tip reads lp.transfers_out in its claim).';
REVOKE ALL ON FUNCTION lp.count_spend(uuid, text, bigint, text, boolean) FROM PUBLIC;
