CREATE FUNCTION api.refund_show(p_show_id uuid, p_reason text) RETURNS lp.shows
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_reason text;
    v_show   lp.shows;
    v_legs   lp.posting[];
    v_total  bigint;
    v_fees   bigint;
    v_tx     uuid := lp.uuid_v7();
    v_back   bigint;
BEGIN
    PERFORM lp.require_user('admin');
    v_reason := lp.check_text(p_reason, 'reason', 1000, true);
    -- The viewers' spend counters first (step 1 of the lock protocol, docs/ledger.md): a refund or chargeback
    -- of their payments takes them first too, so what the platform wrote off for a viewer (below) cannot change
    -- under this refund. As api.tip_many takes its senders': the missing rows made in one statement, then every
    -- row locked in one, both in user id order (making and locking them one user after the other would hold
    -- one viewer's row while waiting for another's insert, which a batch of tips may hold while it waits for
    -- the first). An ended show has no new viewers.
    INSERT INTO lp.spend_counters (user_id, account_created_at, first_payment_at)
    SELECT u.id, u.created_at,
           (SELECT min(y.completed_at) FROM lp.payments AS y WHERE y.user_id = u.id AND y.status = 'completed')
      FROM lp.users AS u
     WHERE u.id IN (SELECT p.user_id FROM lp.show_participants AS p WHERE p.show_id = p_show_id)
       AND NOT EXISTS (SELECT 1 FROM lp.spend_counters AS f WHERE f.user_id = u.id)
     ORDER BY u.id
    ON CONFLICT (user_id) DO NOTHING;
    PERFORM 1 FROM lp.spend_counters AS f
     WHERE f.user_id IN (SELECT p.user_id FROM lp.show_participants AS p WHERE p.show_id = p_show_id)
     ORDER BY f.user_id
       FOR NO KEY UPDATE;
    -- A viewer's complaint upheld: everything the show's viewers paid goes back to them through the ledger,
    -- the performer's part from the performer (into debt if they already spent or withdrew it, as for a
    -- payment refund) and the fee from the platform. Show row, then its participants, then the wallets.
    v_show := lp.lock_show(p_show_id, ARRAY['ended'], 'be refunded');
    IF v_show.refunded_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the show was already refunded';
    END IF;
    PERFORM 1 FROM lp.show_participants AS p WHERE p.show_id = v_show.id ORDER BY p.id FOR NO KEY UPDATE;
    IF EXISTS (SELECT 1 FROM lp.show_participants AS p WHERE p.show_id = v_show.id AND p.settled_at IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the show is still being billed',
            HINT = 'Run livepanty-db jobs bill-shows, then refund.';
    END IF;
    -- What each viewer paid (their hold's captures: amount and the fee taken from it), and what of it goes back
    -- to the platform instead: under refunds.shortfall_policy write_off, a refund or chargeback of a viewer's
    -- purchase may have written off tokens they had spent (on this show, say); were the refund theirs in full,
    -- they would have the purchase's money back and the tokens too. So the refund first makes good what was
    -- written off for them (chargeback_losses is credited; the payments' written-off tokens become recovered,
    -- oldest first), and only the rest reaches the viewer. (Under debt, the refund settles the debt itself.)
    WITH paid AS (
        SELECT p.user_id, w.id AS wallet_id, sum(c.amount)::bigint AS amount, sum(c.fee_amount)::bigint AS fee
          FROM lp.show_participants AS p
          JOIN lp.hold_captures AS c ON c.hold_id = p.hold_id
          JOIN lp.wallets AS w ON w.user_id = p.user_id
         WHERE p.show_id = v_show.id
         GROUP BY p.user_id, w.id
    ), owed AS (
        SELECT paid.*,
               least(paid.amount,
                     coalesce((SELECT sum(y.written_off_tokens) FROM lp.payments AS y
                                WHERE y.user_id = paid.user_id AND y.status IN ('refunded', 'chargeback')
                                  AND y.written_off_tokens > 0), 0))::bigint AS back
          FROM paid
    ), recovered AS (
        -- the payments' written-off tokens made good, oldest reversal first
        UPDATE lp.payments AS y
           SET written_off_tokens = y.written_off_tokens - d.take,
               recovered_tokens   = y.recovered_tokens + d.take,
               updated_at         = now()
          FROM (SELECT x.id, least(x.written_off_tokens,
                                   greatest(0, o.back - coalesce(sum(x.written_off_tokens)
                                                        OVER (PARTITION BY x.user_id
                                                              ORDER BY coalesce(x.charged_back_at, x.refunded_at), x.id
                                                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)))
                       AS take
                  FROM owed AS o
                  JOIN lp.payments AS x ON x.user_id = o.user_id AND x.status IN ('refunded', 'chargeback')
                                       AND x.written_off_tokens > 0
                 WHERE o.back > 0) AS d
         WHERE y.id = d.id AND d.take > 0
    )  -- (a data-modifying WITH query runs to completion whether or not it is read)
    SELECT array_agg(ROW(owed.wallet_id, owed.amount - owed.back, 'refund', 0, false)::lp.posting
                     ORDER BY owed.wallet_id) FILTER (WHERE owed.amount > owed.back),
           sum(owed.amount)::bigint, sum(owed.fee)::bigint, sum(owed.back)::bigint
      INTO v_legs, v_total, v_fees, v_back
      FROM owed;
    IF coalesce(v_total, 0) > 0 THEN
        v_legs := coalesce(v_legs, ARRAY[]::lp.posting[])
            || CASE WHEN v_back > 0 THEN
                   ARRAY[ROW(lp.system_wallet('chargeback_losses'), v_back, 'write_off', 0, false)::lp.posting]
               ELSE ARRAY[]::lp.posting[] END
            || CASE WHEN v_total - v_fees > 0 THEN
                   ARRAY[ROW((SELECT w.id FROM lp.wallets AS w WHERE w.user_id = v_show.host_id),
                             -(v_total - v_fees), 'refund', 0, true)::lp.posting]
               ELSE ARRAY[]::lp.posting[] END
            || CASE WHEN v_fees > 0 THEN
                   ARRAY[ROW(lp.system_wallet('platform_fees'), -v_fees, 'refund', 0, false)::lp.posting]
               ELSE ARRAY[]::lp.posting[] END;
        -- The performer's earnings waiting in their credit shards are swept in first (p_sweep): debt only for
        -- what they no longer have at all.
        PERFORM lp.post(v_tx, 'show', v_show.id, v_legs, format('refund of show %s', v_show.id),
                        (SELECT w.id FROM lp.wallets AS w WHERE w.user_id = v_show.host_id));
    END IF;
    UPDATE lp.show_participants AS p SET refunded = p.billed_tokens WHERE p.show_id = v_show.id;
    UPDATE lp.shows AS s SET refunded_at = now() WHERE s.id = v_show.id RETURNING * INTO v_show;
    PERFORM lp.audit('show.refund', 'show', v_show.id::text,
                     jsonb_build_object('reason', v_reason, 'tokens', coalesce(v_total, 0), 'fees', coalesce(v_fees, 0),
                                        'written_off_recovered', coalesce(v_back, 0),
                                        'transaction_id', CASE WHEN v_total > 0 THEN v_tx END));
    RETURN v_show;
END
$$;
COMMENT ON FUNCTION api.refund_show(uuid, text) IS 'Admins, upholding a viewer''s complaint (reason required, audited as show.refund): every token the show''s viewers paid goes back to them in one ledger transaction (reference show): the performer gives back their part (their wallet may go into debt, as for a payment refund), the platform its fee. Under refunds.shortfall_policy write_off, what a refund or chargeback of a viewer''s purchases wrote off goes back to chargeback_losses first (those payments'' written-off tokens become recovered), and only the rest to the viewer. Once per show, after api.bill_shows has settled it. LP002 not an admin, LP003 unknown show, LP004 not ended, still being billed, or already refunded, LP018 no reason.';
REVOKE ALL ON FUNCTION api.refund_show(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.refund_show(uuid, text) TO livepanty_app, livepanty_service;
