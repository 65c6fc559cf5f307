CREATE FUNCTION lp.authorize_hold_action(p_hold_id uuid, p_action text) RETURNS lp.holds
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    -- The database role that called the api function: SECURITY DEFINER changes current_user to the owner but
    -- leaves the role setting alone, so it is the role of SET [LOCAL] ROLE or, without one, the login role.
    v_caller text := CASE WHEN pg_catalog.current_setting('role') = 'none' THEN session_user::text
                          ELSE pg_catalog.current_setting('role') END;
    v_actor  uuid := api.current_user_id();
    v_hold   lp.holds;
BEGIN
    IF v_actor IS NULL THEN
        -- Nobody acting: only the back office (the billing job, the operator CLI) may go on.
        IF NOT pg_catalog.pg_has_role(v_caller, 'livepanty_service', 'USAGE') THEN
            PERFORM lp.require_user();  -- raises LP001
        END IF;
    ELSE
        PERFORM lp.require_user();      -- LP001 when the acting user was deleted
    END IF;

    SELECT h.* INTO v_hold FROM lp.holds AS h WHERE h.id = p_hold_id;
    IF v_hold.id IS NULL
       OR (v_actor IS NOT NULL AND v_actor NOT IN (v_hold.user_id, v_hold.payee_id)
           AND lp.current_user_role() IS DISTINCT FROM 'admin') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'hold not found';
    END IF;
    IF v_actor IS NULL OR p_action = 'read' THEN
        RETURN v_hold;
    END IF;
    -- A show's reservation is the billing job's (api.bill_shows) until it settled the viewer's part: neither
    -- the viewer (who would skip the minute in progress and the minimum) nor the performer (who would take
    -- tokens for minutes not yet shown) may move it themselves.
    IF EXISTS (SELECT 1 FROM lp.show_participants AS p WHERE p.hold_id = p_hold_id AND p.settled_at IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = format('this hold belongs to a show: you may not %s it', p_action),
            HINT = 'Leave the show (api.leave_show) or end it (api.end_show): the billing job settles the hold.';
    END IF;
    -- Who may do what: the payee captures (it is their money to take), holder and payee release.
    IF (p_action = 'capture' AND v_actor = v_hold.payee_id)
       OR (p_action = 'release' AND v_actor IN (v_hold.user_id, v_hold.payee_id)) THEN
        RETURN v_hold;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = format('you may not %s this hold', p_action),
        HINT = CASE p_action WHEN 'capture' THEN 'Only the payee (or the back office) captures a hold.'
                             ELSE 'Only the holder, the payee (or the back office) release a hold.' END;
END
$$;
COMMENT ON FUNCTION lp.authorize_hold_action(uuid, text) IS 'Gate of the hold functions: returns the hold (unlocked) when the caller may p_action (read, capture, release) it. Nobody acting: the livepanty_service role (or a member, or a superuser) may do anything, others get LP001. A user acting: LP003 unless they are the holder, the payee or an admin (read); capture is the payee''s, release the holder''s or the payee''s (LP002 for the other parties); a show''s hold not yet settled is the billing job''s alone (LP004 for every acting user).';
REVOKE ALL ON FUNCTION lp.authorize_hold_action(uuid, text) FROM PUBLIC;
