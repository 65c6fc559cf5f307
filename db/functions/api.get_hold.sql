CREATE FUNCTION api.get_hold(p_hold_id uuid) RETURNS lp.holds
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_hold lp.holds := lp.authorize_hold_action(p_hold_id, 'read');
BEGIN
    IF lp.hold_due(v_hold) THEN
        -- Reading a hold past its time releases it (lazy expiry); the caller must commit for it to stay.
        v_hold := lp.lock_hold(p_hold_id);
    END IF;
    RETURN v_hold;
END
$$;
COMMENT ON FUNCTION api.get_hold(uuid) IS 'One hold, for its holder, its payee, an admin, or the back office with nobody acting; a due hold (lp.hold_due: open past expires_at, not a show''s unsettled reservation) is expired on the way (its tokens return to the holder). LP001 nobody acting and not the service role, LP003 unknown or not visible.';
REVOKE ALL ON FUNCTION api.get_hold(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_hold(uuid) TO livepanty_app, livepanty_service;
