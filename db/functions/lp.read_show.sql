CREATE FUNCTION lp.read_show(p_show_id uuid, p_from text[], p_action text) RETURNS lp.shows
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor uuid := api.current_user_id();
    v_show  lp.shows;
BEGIN
    -- lp.lock_show's checks without its locks, for a viewer's own calls (api.join_show, api.leave_show): a
    -- transaction of a viewer's may stay open as long as they like, and a show row (or its stream row) it
    -- held would hold up the host's transitions, the billing job and the other viewers' calls on that show.
    -- What the viewer then writes (their participant row) is checked against what happened meanwhile by those
    -- who could not see it: the transitions take participant rows SKIP LOCKED and api.bill_shows settles the
    -- rows they could not take, or that were written after them, as the show's start and end decide.
    IF NOT lp.show_visible(p_show_id, v_actor) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'show not found';
    END IF;
    SELECT s.* INTO v_show FROM lp.shows AS s WHERE s.id = p_show_id;
    IF v_show.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'show not found';
    END IF;
    IF (v_show.status::text = ANY (p_from)) IS NOT TRUE THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004',
            MESSAGE = format('a %s show cannot %s', v_show.status, p_action),
            DETAIL = format('only a show in status %s can %s', array_to_string(p_from, ' or '), p_action);
    END IF;
    RETURN v_show;
END
$$;
COMMENT ON FUNCTION lp.read_show(uuid, text[], text) IS 'The checks of a show call without locking a row, for a viewer''s own show calls (api.join_show, api.leave_show), and lp.lock_show''s checks once it holds the rows: LP003 unknown show, or one the acting user may not see (lp.show_visible); LP004 a status that does not allow p_action. Returns the show as the statement saw it.';
REVOKE ALL ON FUNCTION lp.read_show(uuid, text[], text) FROM PUBLIC;
