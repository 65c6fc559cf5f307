CREATE FUNCTION lp.extend_hold(p_hold lp.holds, p_amount bigint, p_count boolean DEFAULT true,
                               p_wait boolean DEFAULT true) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_reserved boolean;
BEGIN
    -- Reserves p_amount more on an open hold the caller holds (a show's top-up): the holder's fraud controls
    -- and spending limits count it, then the wallet row and its shards (the order of api.place_hold: counter,
    -- hold, limits, due holds, wallet; lp.reserve; api.bill_shows, the one caller, took them all in that order
    -- before, SKIP LOCKED). False, with nothing changed, when the holder cannot afford it
    -- (available balance, debt, a spending limit, a new account's daily cap). The hold's life starts again: a
    -- long show does not see its hold expire under it.
    IF p_hold.status <> 'open' OR p_amount <= 0 THEN
        RETURN false;
    END IF;
    BEGIN
        IF p_count THEN
            -- The tokens of a new account's day, as a tip's (LP160; lp.count_spend, top_up): the caller holds
            -- the holder's counter row already (api.bill_shows takes it SKIP LOCKED with the participant).
            PERFORM lp.count_spend(p_hold.user_id, 'top_up', p_amount);
        END IF;
        UPDATE lp.holds AS h
           SET amount = h.amount + p_amount,
               expires_at = greatest(h.expires_at, now() + make_interval(mins => (lp.setting('holds.max_minutes'))::integer))
         WHERE h.id = p_hold.id;
        -- The hold already counts its new amount. Not waiting for a due hold of the holder another transaction
        -- holds (it counts whole): the billing job holds the holder's wallet row already (api.bill_shows locked
        -- the limit rows, the due holds and then the wallet SKIP LOCKED), and a due hold's holder may wait for it.
        PERFORM lp.check_spending_limit(p_hold.user_id, 0, false);
        -- As placing it: overdue holds of the holder expired, credit shards swept in when short (lp.reserve).
        -- Without p_wait a busy shard is not waited for: lock_not_available (55P03), raised out of this
        -- function with nothing changed, so the caller tries again later (api.bill_shows: the viewer is left
        -- for a later call), rather than refusing a top-up that the busy shard's tokens might cover.
        v_reserved := lp.reserve(p_hold.wallet_id, p_amount, p_wait);
        IF v_reserved IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'lock_not_available',
                MESSAGE = 'a credit shard of the holder is busy: the top-up is tried again later';
        END IF;
        IF NOT v_reserved THEN
            RAISE EXCEPTION USING ERRCODE = 'LP100', MESSAGE = 'insufficient available balance';
        END IF;
    EXCEPTION WHEN SQLSTATE 'LP100' OR SQLSTATE 'LP105' OR SQLSTATE 'LP107' OR SQLSTATE 'LP160' THEN
        RETURN false;
    END;
    RETURN true;
END
$$;
COMMENT ON FUNCTION lp.extend_hold(lp.holds, bigint, boolean, boolean) IS 'Reserves p_amount more tokens on an open hold the caller has locked (with p_count, the holder''s fraud counter first: the tokens count toward a new account''s daily tip cap, lp.count_spend top_up, the caller holding that row; then spending limits, then the holder''s main balance through lp.reserve: overdue holds expired, credit shards swept in; without p_wait a busy shard is not waited for: lock_not_available, nothing changed) and renews its lifetime; false with nothing changed when the holder cannot afford it (LP100, LP105, LP107, LP160).';
REVOKE ALL ON FUNCTION lp.extend_hold(lp.holds, bigint, boolean, boolean) FROM PUBLIC;
