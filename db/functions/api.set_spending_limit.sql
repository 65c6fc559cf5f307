CREATE FUNCTION api.set_spending_limit(p_period text, p_limit_tokens bigint) RETURNS lp.spending_limits
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user     uuid := lp.require_user();
    v_cooldown interval;
    v_row      lp.spending_limits;
    v_before   lp.spending_limits;
    v_current  bigint;
    v_applied  text;
BEGIN
    PERFORM lp.check_choice(p_period, 'lp.limit_period', 'period');
    -- LP103 unless NULL (no limit) or 1..money.max_tokens.
    IF p_limit_tokens IS NOT NULL THEN
        PERFORM lp.check_tokens(p_limit_tokens, 'spending limit');
    END IF;
    v_cooldown := make_interval(hours => (lp.setting('limits.raise_cooldown_hours'))::integer);

    -- One row per user and period; concurrent changes of the same limit queue on it.
    INSERT INTO lp.spending_limits (user_id, period) VALUES (v_user, p_period::lp.limit_period) ON CONFLICT DO NOTHING;
    SELECT l.* INTO v_row FROM lp.spending_limits AS l WHERE l.user_id = v_user AND l.period = p_period::lp.limit_period FOR UPDATE;
    v_before := v_row;
    -- A pending change whose time has come is the limit in force now: fold it in first.
    IF v_row.pending_effective_at <= now() THEN
        v_row.limit_tokens := v_row.pending_limit_tokens;
        v_row.pending_limit_tokens := NULL;
        v_row.pending_effective_at := NULL;
    END IF;
    v_current := v_row.limit_tokens;

    IF p_limit_tokens IS NOT NULL AND (v_current IS NULL OR p_limit_tokens <= v_current) THEN
        -- Stricter (or a first limit): at once, and any raise still waiting is cancelled.
        v_row.limit_tokens := p_limit_tokens;
        v_row.pending_limit_tokens := NULL;
        v_row.pending_effective_at := NULL;
        v_applied := 'now';
    ELSIF v_current IS NULL THEN
        -- Removing a limit there is none of: nothing to do.
        v_applied := 'unchanged';
    ELSE
        -- Looser (a higher cap, or none): only after the cooling-off period. Asking again for the same or
        -- a smaller loosening than the one already waiting keeps its time; a bigger one starts the wait anew.
        IF v_row.pending_effective_at IS NULL
           OR (p_limit_tokens IS NULL AND v_row.pending_limit_tokens IS NOT NULL)
           OR p_limit_tokens > v_row.pending_limit_tokens THEN
            -- The wait counts from the transaction's start: from one begun long ago (held open to shorten the
            -- cooling-off) no loosening is taken (LP205, as for a movement of tokens).
            IF statement_timestamp() > now() + interval '1 second' THEN
                PERFORM lp.refuse_old_transaction('loosen a spending limit');
            END IF;
            v_row.pending_effective_at := now() + v_cooldown;
        END IF;
        v_row.pending_limit_tokens := p_limit_tokens;
        v_applied := 'pending';
    END IF;

    UPDATE lp.spending_limits AS l
       SET limit_tokens = v_row.limit_tokens,
           pending_limit_tokens = v_row.pending_limit_tokens,
           pending_effective_at = v_row.pending_effective_at
     WHERE l.user_id = v_user AND l.period = p_period::lp.limit_period
    RETURNING l.* INTO v_row;

    IF (v_before.limit_tokens, v_before.pending_limit_tokens, v_before.pending_effective_at)
       IS DISTINCT FROM (v_row.limit_tokens, v_row.pending_limit_tokens, v_row.pending_effective_at) THEN
        PERFORM lp.audit('limits.change', 'user', v_user::text,
            jsonb_build_object('period', p_period, 'requested', p_limit_tokens, 'applied', v_applied,
                               'limit_before', v_current, 'limit_tokens', v_row.limit_tokens,
                               'pending_limit_tokens', v_row.pending_limit_tokens,
                               'pending_effective_at', v_row.pending_effective_at));
    END IF;
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION api.set_spending_limit(text, bigint) IS 'The acting user caps their own spending (tips, holds) over a rolling day, week (7 days) or month (30 days); NULL removes the cap. A first or lower cap applies at once and cancels a pending raise; a higher cap or a removal waits limits.raise_cooldown_hours (pending_limit_tokens / pending_effective_at). Returns the row; audited (limits.change). LP001 nobody acting, LP018 bad period, LP103 limit not in 1..money.max_tokens.';
REVOKE ALL ON FUNCTION api.set_spending_limit(text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.set_spending_limit(text, bigint) TO livepanty_app, livepanty_service;
