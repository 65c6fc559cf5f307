CREATE FUNCTION api.release_hold(p_hold_id uuid, p_idempotency_key text) RETURNS lp.holds
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_hold     lp.holds := lp.authorize_hold_action(p_hold_id, 'release');
    v_key      text := lp.check_text(p_idempotency_key, 'idempotency_key', 128, true);
    v_response jsonb;
BEGIN
    -- Keys are per caller (lp.idempotency_slot); the request records the hold: the same key for another hold
    -- is LP106.
    v_response := lp.idempotency_begin('holds.release', v_key, jsonb_build_object('hold_id', p_hold_id));
    IF v_response IS NOT NULL THEN
        PERFORM lp.note_replay('api.release_hold', p_idempotency_key);
        RETURN jsonb_populate_record(NULL::lp.holds, v_response);
    END IF;

    v_hold := lp.lock_hold(p_hold_id);  -- the hold row first, then the wallet (lp.close_hold)
    IF v_hold.status <> 'open' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP109', MESSAGE = format('the hold is %s', v_hold.status);
    END IF;
    v_hold := lp.close_hold(p_hold_id, 'released');
    PERFORM lp.idempotency_finish('holds.release', v_key, to_jsonb(v_hold));
    RETURN v_hold;
END
$$;
COMMENT ON FUNCTION api.release_hold(uuid, text) IS 'The holder, the payee (or the back office with nobody acting) ends an open hold: what it still reserves becomes available again (no ledger entry), status released. Idempotent per caller and key (the replay returns the original result). LP001 nobody acting and not the service role, LP002 another party, LP003 unknown or not visible hold, LP004 a show''s hold not yet settled (the billing job''s alone, lp.authorize_hold_action), LP018 key, LP106 key used for another hold, LP109 hold not open (captured, released or expired).';
REVOKE ALL ON FUNCTION api.release_hold(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.release_hold(uuid, text) TO livepanty_app, livepanty_service;
