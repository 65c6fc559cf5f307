CREATE FUNCTION lp.close_hold(p_hold_id uuid, p_status text) RETURNS lp.holds
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_hold lp.holds;
BEGIN
    IF p_status NOT IN ('released', 'expired') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = format('a hold is not closed as %L', p_status);
    END IF;
    -- The caller holds the hold's row lock (lp.lock_hold, lp.expire_due_holds); the wallet row comes second.
    UPDATE lp.holds AS h SET status = p_status::lp.hold_status, closed_at = now()
     WHERE h.id = p_hold_id AND h.status = 'open'
    RETURNING h.* INTO v_hold;
    IF v_hold.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'only an open hold can be closed',
            DETAIL = format('hold %s', p_hold_id);
    END IF;
    -- No token moves, so no ledger entry: what the hold still reserved becomes available again (a release
    -- always passes lp.move_main's check).
    PERFORM lp.move_main(ARRAY[v_hold.wallet_id], ARRAY[0::bigint], ARRAY[-(v_hold.amount - v_hold.captured)], false);
    RETURN v_hold;
END
$$;
COMMENT ON FUNCTION lp.close_hold(uuid, text) IS 'Closes a locked open hold as released or expired and returns what it still reserved (amount - captured) to the holder''s available balance. No ledger entry: no token moves.';
REVOKE ALL ON FUNCTION lp.close_hold(uuid, text) FROM PUBLIC;
