CREATE FUNCTION lp.finish_show(p_show lp.shows, p_status text, p_by text, p_reason text) RETURNS lp.shows
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_show lp.shows;
BEGIN
    -- Ends a show the caller holds (ended when it ran; declined, expired or cancelled when it had not): every
    -- viewer still in it is taken out, not by their own doing (lp.close_participation in host mode: completed
    -- minutes only; nothing at all for a show that never ran). A viewer who ended it (a private show's payer
    -- leaving, running out of tokens, losing their connection) was taken out by the caller first, in viewer
    -- mode. No money moves
    -- here: api.bill_shows captures what is due and releases the holds, one viewer per transaction.
    -- Participant rows are taken SKIP LOCKED: one that another transaction holds (a viewer's own leave, which
    -- may stay open as long as they like; the billing job's step) is not waited for, and api.bill_shows
    -- settles it afterwards as this end decides (out at ended_at, completed minutes only) unless the viewer's
    -- leave committed before it (docs/streams.md, Concurrency and idempotency).
    UPDATE lp.shows AS s
       SET status = p_status::lp.show_status, ended_at = now(), ended_by = p_by, end_reason = p_reason
     WHERE s.id = p_show.id AND s.status IN ('requested', 'open', 'running')
    RETURNING s.* INTO v_show;
    IF v_show.id IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM lp.close_participation(p, v_show, now(), 'host')
       FROM (SELECT q.* FROM lp.show_participants AS q
              WHERE q.show_id = v_show.id AND q.left_at IS NULL
              ORDER BY q.id
                FOR NO KEY UPDATE SKIP LOCKED) AS p;
    PERFORM lp.emit_event(v_show.stream_id, 'show_ended',
        jsonb_build_object('show_id', v_show.id, 'show_type', v_show.show_type, 'status', v_show.status,
                           'ended_by', p_by, 'reason', p_reason));
    RETURN v_show;
END
$$;
COMMENT ON FUNCTION lp.finish_show(lp.shows, text, text, text) IS 'Closes a show the caller holds with status p_status (ended, declined, expired, cancelled), who (host, viewer, system, admin) and why; takes every viewer still in it out, owing completed minutes only (lp.close_participation) and appends a show_ended event. The money is settled by api.bill_shows. NULL when it was already closed.';
REVOKE ALL ON FUNCTION lp.finish_show(lp.shows, text, text, text) FROM PUBLIC;
