CREATE FUNCTION api.leave_show(p_show_id uuid) RETURNS lp.show_participants
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_viewer uuid := lp.require_user();
    v_show   lp.shows;
    v_row    lp.show_participants;
BEGIN
    v_show := lp.read_show(p_show_id, ARRAY['requested', 'open', 'running'], 'be left');
    SELECT p.* INTO v_row FROM lp.show_participants AS p
     WHERE p.show_id = v_show.id AND p.user_id = v_viewer AND p.left_at IS NULL;
    IF v_row.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'you are not in this show';
    END IF;
    IF v_show.show_type = 'private' AND v_row.role = 'payer' THEN
        -- The payer ends the show (below): the show row first, then their row (the order of every transition).
        -- This is the one leave that holds the show row: the host's transitions on this show, and the billing
        -- of its spies, wait for it (docs/streams.md, Concurrency and idempotency).
        v_show := lp.lock_show(p_show_id, ARRAY['requested', 'open', 'running'], 'be left');
    END IF;
    -- Only their own row otherwise: a viewer's transaction may stay open, and the host's transitions and the
    -- billing job take participant rows SKIP LOCKED (api.bill_shows settles afterwards, as the show's end
    -- decides, one a transition could not take). The show is read again once the row is held: an end that
    -- took the row first has taken them out (LP003); one that committed without it is LP004 here.
    SELECT p.* INTO v_row FROM lp.show_participants AS p
     WHERE p.id = v_row.id AND p.left_at IS NULL
       FOR NO KEY UPDATE;
    IF v_row.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'you are not in this show';
    END IF;
    IF NOT (v_show.show_type = 'private' AND v_row.role = 'payer') THEN
        v_show := lp.read_show(p_show_id, ARRAY['requested', 'open', 'running'], 'be left');
    END IF;
    -- The viewer's doing: a running show bills the started minute (and the minimum duration for payers); a
    -- show that has not run yet bills nothing and releases the reservation (a ticket before the show too).
    v_row := lp.close_participation(v_row, v_show, now(), 'viewer');
    IF v_show.show_type = 'private' AND v_row.role = 'payer' THEN
        v_show := lp.finish_show(v_show, CASE WHEN v_show.status = 'running' THEN 'ended' ELSE 'cancelled' END,
                                 'viewer', CASE WHEN v_show.status = 'running' THEN 'viewer left' ELSE 'viewer withdrew' END);
    END IF;
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION api.leave_show(uuid) IS 'The acting viewer leaves a show: from a running show they owe every started minute (at least the show''s minimum for its payers; a ticket its price); before it runs, nothing (the reservation is released, a ticket refunded). The payer of a private show ends it by leaving (or withdraws the request). The money is settled by api.bill_shows. LP003 unknown show or not in it, LP004 a show that is over.';
REVOKE ALL ON FUNCTION api.leave_show(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.leave_show(uuid) TO livepanty_app, livepanty_service;
