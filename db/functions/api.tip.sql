CREATE FUNCTION api.tip(
    p_recipient_id    uuid,
    p_amount          bigint,
    p_idempotency_key text,
    p_stream_id       uuid DEFAULT NULL,
    p_message         text DEFAULT NULL,
    p_is_anonymous    boolean DEFAULT false,
    p_menu_item_id    uuid DEFAULT NULL
) RETURNS lp.tips
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET plan_cache_mode = force_generic_plan
AS $$
-- force_generic_plan (here and in what it calls): every statement planned once per session; with the
-- default, statements whose custom plan looked cheaper (a NULL stream, a constant to fold) were planned
-- again on every call (docs/benchmarks.md, "Money core v2").
-- Lean: one read for every check, one claim, one posting (lock protocol: docs/ledger.md).
DECLARE
    v_sender  uuid := lp.require_user();
    v_message text := lp.check_text(p_message, 'message', 500);
    v_key     text := lp.check_text(p_idempotency_key, 'idempotency_key', 128, true);
    v_tip     lp.tips;
    v_fee     bigint;
    v_tx      uuid := lp.uuid_v7();
    v_to      uuid;
    v_goal    bigint;
    c         record;
BEGIN
    -- Everything the checks below need, in one statement.
    SELECT (SELECT t FROM lp.tips AS t WHERE t.sender_id = v_sender AND t.idempotency_key = v_key) AS old,
           (SELECT array_agg(s.value ORDER BY s.key) FROM lp.settings AS s
             WHERE s.key IN ('money.max_tokens', 'tips.fee_bps', 'tips.max_tokens', 'tips.min_tokens')) AS cfg,
           -- the sender's sanctions: a tip, and a message when it carries one (lp.sanction_refusal's rule)
           lp.sanction_blocks(v_sender, VARIADIC CASE WHEN v_message IS NULL THEN ARRAY['tip']
                                                      ELSE ARRAY['tip', 'message'] END) AS sender_sanctioned,
           -- who may be paid: the rule of api.place_hold and api.tip_many too (inlined, costs a CASE)
           lp.payee_refusal(v_sender, p_recipient_id, u.id IS NOT NULL, u.role, lp.sanctioned(u.id),
                            EXISTS (SELECT 1 FROM lp.performer_blocks AS b
                                     WHERE b.performer_id = u.id AND b.blocked_id = v_sender),
                            lp.kyc_refusal_from(u.kyc_valid_until)) AS refusal,
           EXISTS (SELECT 1 FROM lp.spending_limits AS l
                    WHERE l.user_id = v_sender
                      AND (l.limit_tokens IS NOT NULL OR l.pending_limit_tokens IS NOT NULL)) AS limited,
           -- the key of a tip of the sender to a performer of another shard (shard.tip_out; none on one node)
           EXISTS (SELECT 1 FROM lp.transfers_out AS o
                    WHERE o.sender_id = v_sender AND o.idempotency_key = v_key
                      AND o.hold_id IS NULL AND o.refund_of IS NULL) AS key_sent,
           (SELECT w.id FROM lp.wallets AS w WHERE w.user_id = v_sender) AS from_wallet,
           (SELECT w.id FROM lp.wallets AS w WHERE w.user_id = u.id) AS to_wallet,
           (SELECT w.id FROM lp.wallets AS w WHERE w.system_code = 'platform_fees') AS fee_wallet,
           st.id AS stream, st.host_id, st.status AS stream_status,
           -- the stream's active goal (past its deadline it takes no more tips); escrow for refund_if_missed
           gl.id AS goal, gl.target_tokens AS goal_target, gl.refund_if_missed AS goal_refund,
           CASE WHEN gl.refund_if_missed THEN (SELECT w.id FROM lp.wallets AS w WHERE w.system_code = 'goal_escrow')
           END AS escrow_wallet,
           m.id AS item, m.performer_id AS item_performer, m.price AS item_price, m.is_active AS item_active,
           m.name AS item_name
      INTO c
      FROM (SELECT 1) AS one
      LEFT JOIN lp.users AS u ON u.id = p_recipient_id AND u.deleted_at IS NULL
      -- FOR SHARE (as api.join_stream): tips naming a stream do not wait for one another, but api.end_stream
      -- waits for those in flight (so its final statistics count them) and a tip after it sees the stream ended.
      -- A stream the sender may not see (lp.stream_visible's rule: public, or they host it, perform in it or are
      -- staff) is not found (LP003), as for one that does not exist.
      LEFT JOIN LATERAL (SELECT s.id, s.host_id, s.status FROM lp.streams AS s
                          WHERE s.id = p_stream_id AND s.deleted_at IS NULL
                            AND (s.visibility = 'public' OR s.host_id = v_sender
                                 OR EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                                             WHERE sp.stream_id = s.id AND sp.performer_id = v_sender)
                                 OR coalesce(lp.current_user_role() IN ('moderator', 'admin'), false))
                            FOR SHARE) AS st ON true
      -- FOR KEY SHARE: the goal's deadline cannot make api.settle_tip_goals miss it while this tip is in flight
      -- (it takes the goal FOR UPDATE SKIP LOCKED to miss it; reaching or cancelling it, FOR NO KEY UPDATE, does
      -- not conflict). A goal being missed right now is waited for, then not found: the tip counts toward none.
      LEFT JOIN LATERAL (SELECT g.id, g.target_tokens, g.refund_if_missed FROM lp.tip_goals AS g
                          WHERE g.stream_id = st.id AND g.status = 'active'
                            AND (g.deadline IS NULL OR g.deadline > now())
                            FOR KEY SHARE) AS gl ON true
      -- An inactive item is listed to its performer and staff only (api.list_menu, the table's policies): to
      -- anyone else it is not found (LP003, as an unknown id), never LP126, which would tell that it exists.
      LEFT JOIN lp.tip_menu_items AS m
             ON m.id = p_menu_item_id
            AND (m.is_active OR m.performer_id = v_sender
                 OR coalesce(lp.current_user_role() IN ('moderator', 'admin'), false));

    -- A retry with the same key returns the original tip; the same key with other arguments is refused.
    IF (c.old).id IS NOT NULL THEN
        PERFORM lp.note_replay('api.tip', p_idempotency_key);
        RETURN lp.replay_tip(c.old, p_recipient_id, p_amount, p_stream_id, v_message, p_is_anonymous,
                             p_menu_item_id);
    END IF;
    IF c.key_sent THEN  -- one key names one tip, same-shard or cross-shard
        RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different tip';
    END IF;
    IF cardinality(c.cfg) IS DISTINCT FROM 4 THEN  -- a setting is missing: lp.setting says which (LP091)
        PERFORM lp.setting(k) FROM unnest(ARRAY['money.max_tokens', 'tips.fee_bps', 'tips.max_tokens',
                                                 'tips.min_tokens']) AS k;
    END IF;
    -- LP103 outside tips.min_tokens..tips.max_tokens, or above money.max_tokens (whichever is lower applies).
    IF p_amount IS NULL OR p_amount <= 0 OR p_amount > (c.cfg[1])::bigint THEN
        PERFORM lp.check_tokens(p_amount, 'tip amount');  -- raises (its bounds, read above): no statement otherwise
    END IF;
    IF p_amount < (c.cfg[4])::bigint OR p_amount > (c.cfg[3])::bigint THEN
        RAISE EXCEPTION USING ERRCODE = 'LP103', MESSAGE = 'tip amount out of range',
            DETAIL = format('between %s and %s tokens', c.cfg[4], c.cfg[3]);
    END IF;
    IF c.sender_sanctioned THEN
        -- LP022 suspension or ban, LP150 tip_block (or mute with a message), with the sanction's details
        PERFORM lp.assert_sanction_allows(v_sender, VARIADIC CASE WHEN v_message IS NULL THEN ARRAY['tip']
                                                                  ELSE ARRAY['tip', 'message'] END);
    END IF;
    IF c.refusal IS NOT NULL THEN
        PERFORM lp.refuse_payee(c.refusal);  -- LP101 self, LP003 unknown, LP102 not a performer, LP108 sanctioned, LP135 no valid KYC, LP124 blocked
    END IF;
    IF p_stream_id IS NOT NULL THEN
        IF c.stream IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
        END IF;
        IF c.host_id <> p_recipient_id OR c.stream_status <> 'live' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP104', MESSAGE = 'the stream is not the recipient''s live stream',
                DETAIL = format('stream status %s', c.stream_status);
        END IF;
    END IF;
    IF p_menu_item_id IS NOT NULL THEN
        IF c.item IS NULL OR c.item_performer <> p_recipient_id THEN
            RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'menu item not found';
        END IF;
        IF NOT c.item_active THEN
            RAISE EXCEPTION USING ERRCODE = 'LP126', MESSAGE = 'the menu item is not available';
        END IF;
        IF p_amount <> c.item_price THEN
            RAISE EXCEPTION USING ERRCODE = 'LP127', MESSAGE = 'a menu item is paid at its price',
                DETAIL = format('%s costs %s tokens', c.item_name, c.item_price);
        END IF;
    END IF;
    IF c.fee_wallet IS NULL THEN
        PERFORM lp.system_wallet('platform_fees');  -- raises LP199
    END IF;
    IF c.goal_refund AND c.escrow_wallet IS NULL THEN
        PERFORM lp.system_wallet('goal_escrow');  -- raises LP199
    END IF;
    -- Fraud controls (one UPDATE of the sender's counter row, which stays locked until commit): LP160 a new
    -- account over its caps, LP161 too many tips this hour (the tip that reaches the threshold opens a case).
    PERFORM lp.count_spend(v_sender, 'tip', p_amount, v_key);

    v_fee := lp.fee_for(p_amount, (c.cfg[2])::bigint);
    -- The claim, unless a cross-shard tip of the sender took the key meanwhile (shard.tip_out takes the same
    -- counter row first, so it committed before this statement's snapshot, taken after the counter's lock: one
    -- key names one tip; none on one node).
    INSERT INTO lp.tips (sender_id, recipient_id, stream_id, amount, fee_amount, message, is_anonymous,
                         transaction_id, idempotency_key, goal_id, menu_item_id, status)
    SELECT v_sender, p_recipient_id, p_stream_id, p_amount, v_fee, v_message, coalesce(p_is_anonymous, false),
           v_tx, v_key, c.goal, p_menu_item_id, CASE WHEN c.escrow_wallet IS NULL THEN 'completed' ELSE 'escrowed' END
     WHERE NOT EXISTS (SELECT 1 FROM lp.transfers_out AS o
                        WHERE o.sender_id = v_sender AND o.idempotency_key = v_key
                          AND o.hold_id IS NULL AND o.refund_of IS NULL)
    ON CONFLICT (sender_id, idempotency_key) DO NOTHING
    RETURNING * INTO v_tip;
    IF v_tip.id IS NULL THEN
        -- A concurrent call with the same key committed first (this one waited for it at the counter): its
        -- replay, counted by no fraud control; or a cross-shard tip took the key (no tip here: LP106).
        PERFORM lp.uncount_spend(v_sender, 'tip', p_amount);
        SELECT t.* INTO v_tip FROM lp.tips AS t WHERE t.sender_id = v_sender AND t.idempotency_key = v_key;
        IF v_tip.id IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for a different tip';
        END IF;
        PERFORM lp.note_replay('api.tip', p_idempotency_key);
        RETURN lp.replay_tip(v_tip, p_recipient_id, p_amount, p_stream_id, v_message, p_is_anonymous,
                             p_menu_item_id);
    END IF;
    -- After the claim, so that a concurrent retry of this very tip waits for it instead of being counted.
    IF c.limited THEN
        PERFORM lp.check_spending_limit(v_sender, p_amount);
    END IF;

    -- Zero legs are left out (a fee of 0, or a fee of 100 % that leaves the performer nothing). A tip toward a
    -- refund_if_missed goal waits in escrow, whole; the fee is taken when api.settle_tip_goals pays it out.
    v_to := coalesce(c.escrow_wallet, c.to_wallet);
    PERFORM lp.post(v_tx, 'tip', v_tip.id,
        ARRAY(SELECT ROW(l.wallet_id, l.amount, l.kind, 0, false)::lp.posting
                FROM (VALUES (c.from_wallet, -p_amount, 'tip'),
                             (v_to, p_amount - CASE WHEN c.escrow_wallet IS NULL THEN v_fee ELSE 0 END, 'tip'),
                             (c.fee_wallet, CASE WHEN c.escrow_wallet IS NULL THEN v_fee ELSE 0 END, 'tip_fee'))
                     AS l (wallet_id, amount, kind)
               WHERE l.amount <> 0));
    IF c.goal IS NOT NULL THEN
        -- After the wallets (docs/ledger.md): one free progress row; reaching the target closes the goal.
        v_goal := lp.add_goal_progress(c.goal, p_amount, 1);
        IF v_goal >= c.goal_target THEN
            PERFORM lp.reach_goal(c.goal);
        END IF;
    END IF;
    IF p_stream_id IS NOT NULL THEN
        PERFORM lp.emit_event(p_stream_id, CASE WHEN p_menu_item_id IS NULL THEN 'tip' ELSE 'menu_item' END::lp.stream_event_kind,
            jsonb_build_object('tip_id', v_tip.id, 'sender_id', v_sender, 'amount', p_amount, 'message', v_message,
                               'anonymous', v_tip.is_anonymous)
            || CASE WHEN p_menu_item_id IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('menu_item_id', p_menu_item_id, 'item', c.item_name) END
            || CASE WHEN c.goal IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('goal_id', c.goal, 'goal_progress', v_goal, 'goal_target', c.goal_target) END);
    END IF;
    RETURN v_tip;
END
$$;
COMMENT ON FUNCTION api.tip(uuid, bigint, text, uuid, text, boolean, uuid) IS 'The acting user tips a performer: amount within tips.min_tokens..tips.max_tokens and at most money.max_tokens (LP103), optional live stream of the recipient (LP104 when it is not live), message (500 characters), anonymous flag. One ledger transaction: sender -amount, performer +(amount - fee), platform fee wallet +fee (fee rounded down). LP124 when the performer has blocked the sender, LP135 when the performer holds no valid identity verification (lp.kyc_refusal: never verified, or re-verification needed). LP022 when the sender is suspended or banned, LP150 under a tip_block (or a mute, for a tip with a message). LP160 a new account over its caps, LP161 too many tips this hour (fraud controls: lp.count_spend). With a menu item of the recipient (p_menu_item_id), the amount is its price (LP003 not theirs, or inactive and the sender not staff: an item the sender may not see; LP126 inactive, to staff; LP127 another amount). A tip naming a live stream counts toward its active goal; toward a refund_if_missed goal it waits in escrow (status escrowed) until api.settle_tip_goals pays it out or back. Idempotent per sender and key.';
REVOKE ALL ON FUNCTION api.tip(uuid, bigint, text, uuid, text, boolean, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.tip(uuid, bigint, text, uuid, text, boolean, uuid) TO livepanty_app, livepanty_service;
