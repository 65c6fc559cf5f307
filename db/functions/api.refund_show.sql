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
BEGIN
    PERFORM lp.require_user('admin');
    v_reason := lp.check_text(p_reason, 'reason', 1000, true);
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
    -- What each viewer paid (their hold's captures: amount and the fee taken from it).
    WITH paid AS (
        SELECT w.id AS wallet_id, sum(c.amount)::bigint AS amount, sum(c.fee_amount)::bigint AS fee
          FROM lp.show_participants AS p
          JOIN lp.hold_captures AS c ON c.hold_id = p.hold_id
          JOIN lp.wallets AS w ON w.user_id = p.user_id
         WHERE p.show_id = v_show.id
         GROUP BY w.id
    )
    SELECT array_agg(ROW(paid.wallet_id, paid.amount, 'refund', 0, false)::lp.posting ORDER BY paid.wallet_id),
           sum(paid.amount)::bigint, sum(paid.fee)::bigint
      INTO v_legs, v_total, v_fees
      FROM paid;
    IF coalesce(v_total, 0) > 0 THEN
        v_legs := v_legs
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
                                        'transaction_id', CASE WHEN v_total > 0 THEN v_tx END));
    RETURN v_show;
END
$$;
COMMENT ON FUNCTION api.refund_show(uuid, text) IS 'Admins, upholding a viewer''s complaint (reason required, audited as show.refund): every token the show''s viewers paid goes back to them in one ledger transaction (reference show): the performer gives back their part (their wallet may go into debt, as for a payment refund), the platform its fee. Once per show, after api.bill_shows has settled it. LP002 not an admin, LP003 unknown show, LP004 not ended, still being billed, or already refunded, LP018 no reason.';
REVOKE ALL ON FUNCTION api.refund_show(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.refund_show(uuid, text) TO livepanty_app, livepanty_service;
