CREATE FUNCTION lp.check_spending_limit(p_user_id uuid, p_amount bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_limit  record;
    v_wallet uuid;
    v_spent  bigint;
BEGIN
    -- Most viewers set no limit: one primary-key probe and out.
    FOR v_limit IN
        SELECT l.period,
               CASE WHEN l.pending_effective_at <= now() THEN l.pending_limit_tokens ELSE l.limit_tokens END AS cap,
               CASE l.period WHEN 'daily' THEN interval '1 day' WHEN 'weekly' THEN interval '7 days'
                             ELSE interval '30 days' END AS span
          FROM lp.spending_limits AS l
         WHERE l.user_id = p_user_id
    LOOP
        CONTINUE WHEN v_limit.cap IS NULL;
        IF v_wallet IS NULL THEN
            SELECT w.id INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = p_user_id;
        END IF;
        -- Spent = tips and hold captures debited in the rolling window + what open holds still reserve.
        SELECT coalesce(sum(-e.amount), 0)::bigint INTO v_spent
          FROM lp.ledger AS e
         WHERE e.wallet_id = v_wallet AND e.shard = 0 AND e.amount < 0
           AND e.entry_kind IN ('tip', 'hold_capture')
           AND e.created_at > now() - v_limit.span;
        v_spent := v_spent + coalesce((SELECT sum(h.amount - h.captured) FROM lp.holds AS h
                                        WHERE h.wallet_id = v_wallet AND h.status = 'open'), 0)::bigint;
        IF v_spent + p_amount > v_limit.cap THEN
            RAISE EXCEPTION USING ERRCODE = 'LP105', MESSAGE = format('%s spending limit reached', v_limit.period),
                DETAIL = format('limit %s tokens, spent or reserved %s, this spend %s', v_limit.cap, v_spent, p_amount);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION lp.check_spending_limit(uuid, bigint) IS 'LP105 when spending p_amount more would exceed one of the user''s limits in force: tips and hold captures over the rolling day/7 days/30 days, plus tokens still reserved by open holds.';
REVOKE ALL ON FUNCTION lp.check_spending_limit(uuid, bigint) FROM PUBLIC;
