CREATE FUNCTION api.earnings_summary(
    p_user_id uuid DEFAULT NULL,
    p_from    timestamptz DEFAULT NULL,
    p_to      timestamptz DEFAULT NULL
) RETURNS TABLE (
    user_id         uuid,
    period_from     timestamptz,
    period_to       timestamptz,
    tips_count      bigint,
    tips_gross      bigint,
    tips_fees       bigint,
    tips_net        bigint,
    captures_count  bigint,
    captures_gross  bigint,
    captures_fees   bigint,
    captures_net    bigint,
    balance         bigint,
    payable         bigint,
    in_hold         bigint,
    in_clearing     bigint,
    paid_out        bigint,
    currency        text,
    tokens_per_unit integer
)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_user   uuid := coalesce(p_user_id, v_actor);
    v_from   timestamptz := coalesce(p_from, '-infinity'::timestamptz);
    v_to     timestamptz := coalesce(p_to, 'infinity'::timestamptz);
    v_wallet lp.wallets;
BEGIN
    IF v_user <> v_actor AND lp.current_user_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins read another user''s earnings';
    END IF;
    IF v_from > v_to THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_from must not be after p_to';
    END IF;
    SELECT w.* INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = v_user;
    IF v_wallet.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;

    RETURN QUERY
    SELECT v_user, p_from, p_to,
           t.n, t.gross, t.fees, t.gross - t.fees,
           c.n, c.gross, c.fees, c.gross - c.fees,
           v_wallet.balance
               + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = v_wallet.id), 0)::bigint,
           lp.payable_tokens(v_wallet.id),
           coalesce((SELECT sum(l.amount) FROM lp.ledger AS l
                      WHERE l.wallet_id = v_wallet.id
                        AND l.entry_kind IN ('tip', 'hold_capture')
                        AND l.amount > 0
                        AND l.created_at > now() - make_interval(days => (lp.setting('payouts.hold_days'))::integer)),
                    0)::bigint,
           o.in_clearing, o.paid_out,
           v_wallet.currency, v_wallet.tokens_per_unit
      FROM (SELECT count(*) AS n, coalesce(sum(x.amount), 0)::bigint AS gross,
                   coalesce(sum(x.fee_amount), 0)::bigint AS fees
              FROM lp.tips AS x
             WHERE x.recipient_id = v_user AND x.status = 'completed'
               AND x.created_at >= v_from AND x.created_at < v_to) AS t,
           (SELECT count(*) AS n, coalesce(sum(x.amount), 0)::bigint AS gross,
                   coalesce(sum(x.fee_amount), 0)::bigint AS fees
              FROM (SELECT x.amount, x.fee_amount
                      FROM lp.hold_captures AS x JOIN lp.holds AS h ON h.id = x.hold_id
                     WHERE h.payee_id = v_user
                       AND x.created_at >= v_from AND x.created_at < v_to
                    UNION ALL
                    -- Captures of holds on another shard of a sharded installation, credited here by the relay
                    -- (none on a single node).
                    SELECT i.tip_amount, i.tip_amount - i.amount
                      FROM lp.transfers_in AS i
                     WHERE i.hold_id IS NOT NULL AND i.recipient_id = v_user
                       AND i.created_at >= v_from AND i.created_at < v_to) AS x) AS c,
           (SELECT coalesce(sum(x.tokens) FILTER (WHERE x.status IN ('requested', 'approved', 'sending')), 0)::bigint AS in_clearing,
                   coalesce(sum(x.tokens) FILTER (WHERE x.status = 'paid'
                                                   AND x.paid_at >= v_from AND x.paid_at < v_to), 0)::bigint AS paid_out
              FROM lp.payouts AS x
             WHERE x.user_id = v_user) AS o;
END
$$;
COMMENT ON FUNCTION api.earnings_summary(uuid, timestamptz, timestamptz) IS 'A performer''s earnings (own; admins any user''s: LP002 otherwise, LP003 unknown user). Over the period [p_from, p_to) (open ends when NULL): tips received (count, gross, platform fees, net; refunded tips excluded), hold captures received (count, gross, fees, net) and payouts paid (by paid_at). Now: wallet balance (main + credit shards), payable (what api.request_payout would allow, lp.payable_tokens: earnings older than payouts.hold_days minus the tokens of requested, approved, sending and paid payouts, at most the available balance; bought tokens are never payable), in_hold (earnings of the last payouts.hold_days days, not yet payable), in_clearing (requested, approved and sending payouts). LP018 when p_from is after p_to.';
REVOKE ALL ON FUNCTION api.earnings_summary(uuid, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.earnings_summary(uuid, timestamptz, timestamptz) TO livepanty_app, livepanty_service;
