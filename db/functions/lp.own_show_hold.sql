CREATE FUNCTION lp.own_show_hold(p_hold lp.holds) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- The hold api.request_show or api.join_show just asked api.place_hold for must be one it placed now: open,
    -- nothing captured, made by this transaction, and no show's. A hold the viewer placed before with the same
    -- key (show:<key>), perhaps released since, or one a concurrent call with the same key placed, would let
    -- them take part with nothing reserved: LP106, the key is taken.
    IF p_hold.status <> 'open' OR p_hold.captured <> 0 OR p_hold.created_at <> now()
       OR EXISTS (SELECT 1 FROM lp.show_participants AS p WHERE p.hold_id = p_hold.id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for another reservation',
            DETAIL = format('hold %s', p_hold.id);
    END IF;
END
$$;
COMMENT ON FUNCTION lp.own_show_hold(lp.holds) IS 'LP106 unless the hold a show call just placed is its own: open, nothing captured, made by this transaction, taking part in no show (api.request_show, api.join_show).';
REVOKE ALL ON FUNCTION lp.own_show_hold(lp.holds) FROM PUBLIC;
