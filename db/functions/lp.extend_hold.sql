CREATE FUNCTION lp.extend_hold(p_hold lp.holds, p_amount bigint) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- Reserves p_amount more on an open hold the caller holds (a show's top-up): the holder's spending limits
    -- count it, then the wallet row and its shards (the order of api.place_hold: hold, limits, wallet; lp.reserve).
    -- False, with nothing changed, when the holder cannot afford it (available balance, debt, a spending
    -- limit). The hold's life starts again: a long show does not see its hold expire under it.
    IF p_hold.status <> 'open' OR p_amount <= 0 THEN
        RETURN false;
    END IF;
    BEGIN
        UPDATE lp.holds AS h
           SET amount = h.amount + p_amount,
               expires_at = greatest(h.expires_at, now() + make_interval(mins => (lp.setting('holds.max_minutes'))::integer))
         WHERE h.id = p_hold.id;
        PERFORM lp.check_spending_limit(p_hold.user_id, 0);  -- the hold already counts its new amount
        -- As placing it: overdue holds of the holder expired, credit shards swept in when short (lp.reserve).
        IF NOT lp.reserve(p_hold.wallet_id, p_amount) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP100', MESSAGE = 'insufficient available balance';
        END IF;
    EXCEPTION WHEN SQLSTATE 'LP100' OR SQLSTATE 'LP105' OR SQLSTATE 'LP107' THEN
        RETURN false;
    END;
    RETURN true;
END
$$;
COMMENT ON FUNCTION lp.extend_hold(lp.holds, bigint) IS 'Reserves p_amount more tokens on an open hold the caller has locked (spending limits, then the holder''s main balance through lp.reserve: overdue holds expired, credit shards swept in) and renews its lifetime; false with nothing changed when the holder cannot afford it.';
REVOKE ALL ON FUNCTION lp.extend_hold(lp.holds, bigint) FROM PUBLIC;
