CREATE FUNCTION lp.fraud_on_chargeback(p_payment lp.payments, p_reason text) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- What a chargeback sets off (issue 9, section 4), pending review: a high-priority fraud case on the buyer, a
-- tip_block on the buyer, and a payout_hold on every performer who received at least fraud.chargeback_share_bps
-- of the charged-back tokens in tips and captures of the buyer's holds (shows included) from the buyer within
-- fraud.chargeback_window_hours after the payment completed. The sanctions are open-ended and name the case: the
-- moderator who resolves it lifts them (or not).
-- The sanctions are the case's own: a user gets no second one of a type that names the case already (a second
-- chargeback of the buyer merged into the open case), but one under a sanction of that type for another matter
-- gets the case's all the same (a timed one would lapse, another case's would go with that case's dismissal or
-- an appeal, while this case is still pending). A deleted account is sanctioned all the same (lp.issue_sanction's
-- p_deleted_ok): a buyer who deleted the account after spending the tokens must not make the chargeback fail
-- (the tokens would stay with the buyer, the performers' payouts go on), and a performer's payouts requested
-- before the deletion are still approved and sent unless a payout_hold stops them. The buyer's payment no longer
-- counts as a verified payment for the new-account caps. Owner only; api.chargeback_payment calls it once per
-- chargeback (its idempotency key replays the result, not the effects).
DECLARE
    v_window  integer := (lp.setting('fraud.chargeback_window_hours'))::integer;
    v_share   bigint := (lp.setting('fraud.chargeback_share_bps'))::bigint;
    v_case    uuid;
    v_blocked uuid;
    v_holds   jsonb := '[]'::jsonb;
    v_asked   jsonb := '[]'::jsonb;
    r         record;
BEGIN
    v_case := lp.open_case('fraud', 'fraud', p_payment.user_id, NULL,
                           jsonb_build_object('rule', 'chargeback', 'payment_id', p_payment.id,
                                              'tokens', p_payment.tokens, 'amount_minor', p_payment.amount_minor,
                                              'currency', p_payment.currency, 'recovered_tokens', p_payment.recovered_tokens,
                                              'written_off_tokens', p_payment.written_off_tokens,
                                              'debt_tokens', p_payment.debt_tokens, 'reason', p_reason),
                           'high');
    -- A case of its own gets the chargeback's summary as its description (a merged one keeps its own).
    UPDATE lp.reports AS c
       SET description = format('Chargeback of payment %s (%s tokens, %s %s, provider %s reference %s): %s. Recovered %s, written off %s, owed %s tokens.',
                                p_payment.id, p_payment.tokens, p_payment.amount_minor, p_payment.currency,
                                p_payment.provider, p_payment.provider_reference, p_reason, p_payment.recovered_tokens,
                                p_payment.written_off_tokens, p_payment.debt_tokens)
     WHERE c.id = v_case AND c.description IS NULL;
    IF NOT EXISTS (SELECT 1 FROM lp.user_sanctions AS s
                    WHERE s.user_id = p_payment.user_id AND s.sanction_type = 'tip_block' AND s.report_id = v_case
                      AND s.revoked_at IS NULL AND s.ends_at IS NULL) THEN
        v_blocked := (lp.issue_sanction(p_payment.user_id, 'tip_block',
                                        format('Chargeback of payment %s, pending review of the fraud case', p_payment.id),
                                        NULL, v_case, NULL, p_deleted_ok => true)).id;
    END IF;
    FOR r IN
        SELECT x.recipient_id, sum(x.amount)::bigint AS tokens
          FROM (SELECT t.recipient_id, t.amount, t.created_at
                  FROM lp.tips AS t
                 WHERE t.sender_id = p_payment.user_id
                   AND t.status <> 'refunded'  -- a tip that came back (its goal missed) is nobody's share
                UNION ALL
                -- the captures of the buyer's holds (a hold for a tip, a show's minutes): tokens moved to the
                -- payee as a tip moves them; a payee of another shard is found below (lp.transfers_out). Not
                -- those of a show refunded to its viewers (api.refund_show gives back every token it billed).
                SELECT h.payee_id, c.amount, c.created_at
                  FROM lp.holds AS h
                  JOIN lp.hold_captures AS c ON c.hold_id = h.id
                 WHERE h.user_id = p_payment.user_id
                   AND NOT EXISTS (SELECT 1 FROM lp.show_participants AS sp
                                    WHERE sp.hold_id = h.id AND sp.refunded > 0)
                   AND NOT EXISTS (SELECT 1 FROM lp.remote_users AS ru WHERE ru.user_id = h.payee_id)) AS x
         WHERE x.created_at >= p_payment.completed_at
           AND x.created_at < p_payment.completed_at + make_interval(hours => v_window)
         GROUP BY x.recipient_id
        HAVING sum(x.amount) * 10000 >= v_share * p_payment.tokens
         ORDER BY x.recipient_id
    LOOP
        IF NOT EXISTS (SELECT 1 FROM lp.user_sanctions AS s
                        WHERE s.user_id = r.recipient_id AND s.sanction_type = 'payout_hold' AND s.report_id = v_case
                          AND s.revoked_at IS NULL AND s.ends_at IS NULL) THEN
            v_holds := v_holds || jsonb_build_object(
                'user_id', r.recipient_id, 'tokens', r.tokens,
                'sanction_id', (lp.issue_sanction(r.recipient_id, 'payout_hold',
                                                  format('Received %s of the %s tokens of charged-back payment %s, pending review',
                                                         r.tokens, p_payment.tokens, p_payment.id),
                                                  NULL, v_case, NULL, p_deleted_ok => true)).id);
        END IF;
    END LOOP;
    -- Performers of other shards of a sharded installation (the buyer's cross-shard tips and captures,
    -- lp.transfers_out; none on a single node): the same rule, the payout_hold asked of their shard
    -- (lp.payout_hold_requests; the relay delivers it once, docs/scale-out.md).
    FOR r IN
        SELECT o.recipient_id, o.to_shard, sum(o.amount)::bigint AS tokens
          FROM lp.transfers_out AS o
         WHERE o.sender_id = p_payment.user_id  -- tips and captures (hold_id), as on this shard
           AND o.refund_of IS NULL
           AND o.created_at >= p_payment.completed_at
           AND o.created_at < p_payment.completed_at + make_interval(hours => v_window)
         GROUP BY o.recipient_id, o.to_shard
        HAVING sum(o.amount) * 10000 >= v_share * p_payment.tokens
         ORDER BY o.recipient_id
    LOOP
        INSERT INTO lp.payout_hold_requests (performer_id, to_shard, payment_id, case_id, tokens)
        VALUES (r.recipient_id, r.to_shard, p_payment.id, v_case, r.tokens)
        ON CONFLICT (payment_id, performer_id) DO NOTHING;
        v_asked := v_asked || jsonb_build_object('user_id', r.recipient_id, 'shard', r.to_shard, 'tokens', r.tokens);
    END LOOP;
    RETURN jsonb_build_object('case_id', v_case, 'tip_block_id', v_blocked, 'payout_holds', v_holds,
                              'payout_holds_asked', v_asked);
END
$$;
COMMENT ON FUNCTION lp.fraud_on_chargeback(lp.payments, text) IS 'Owner only (api.chargeback_payment): a high-priority fraud case on the buyer (lp.open_case), a tip_block on the buyer and a payout_hold on each performer who received at least fraud.chargeback_share_bps of the charged-back tokens in tips and hold captures (shows included; tips that came back and shows refunded not counted) from the buyer within fraud.chargeback_window_hours after the payment completed (lp.issue_sanction, automated, open-ended, naming the case, deleted accounts included; none when the user has one of that type naming the case already, whatever other sanctions of that type they are under); for performers of other shards (cross-shard tips and captures, lp.transfers_out) the hold is asked of their shard (lp.payout_hold_requests, delivered by the relay). Returns the case, the tip_block, the holds and the holds asked as jsonb.';
REVOKE ALL ON FUNCTION lp.fraud_on_chargeback(lp.payments, text) FROM PUBLIC;
