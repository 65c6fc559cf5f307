CREATE FUNCTION api.start_show(p_show_id uuid) RETURNS lp.shows
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_host    uuid := lp.require_user('performer');
    v_show    lp.shows;
    v_count   integer;
    v_timeout interval;
BEGIN
    v_show := lp.lock_show(p_show_id, ARRAY['open'], 'start');
    IF v_show.host_id <> v_host THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only the host starts a show';
    END IF;
    PERFORM lp.assert_not_sanctioned(v_host);
    -- Viewers paying per minute who stopped watching before the start (no open viewing session of the stream
    -- with a heartbeat within streams.viewer_timeout_seconds: the rule of api.bill_shows step 2) are out, by
    -- their doing, owing nothing (billing never started: api.bill_shows releases their reservation), and do not
    -- count toward min_participants. Tickets need no presence (as in api.bill_shows): a ticket stays bought
    -- until its holder leaves the show. Lock order: the show row (above), then participant rows in id order,
    -- SKIP LOCKED: a viewer's own leave in flight (which may stay open as long as they like) is not waited for;
    -- if it commits they left before the start, owing nothing, else api.bill_shows bills them from the start
    -- (as a join in flight now, which this start does not see).
    -- Sessions are read, not locked: a viewer leaving the stream at this very moment may be counted in;
    -- api.bill_shows step 2 then takes them out at the start, owing nothing.
    v_timeout := make_interval(secs => (lp.setting('streams.viewer_timeout_seconds'))::integer);
    PERFORM lp.close_participation(p, v_show, now(), 'viewer')
       FROM (SELECT q.* FROM lp.show_participants AS q
              WHERE q.show_id = v_show.id AND q.left_at IS NULL AND q.role <> 'ticket'
                AND NOT lp.is_watching(v_show.stream_id, q.user_id, now() - v_timeout)
              ORDER BY q.id
                FOR NO KEY UPDATE SKIP LOCKED) AS p;
    SELECT count(*)::integer INTO v_count FROM lp.show_participants AS p WHERE p.show_id = v_show.id AND p.left_at IS NULL;
    IF v_show.show_type = 'group' AND v_count < v_show.min_participants THEN
        -- Not enough viewers committed (and still watching): the show does not run and every reservation is
        -- released.
        v_show := lp.finish_show(v_show, 'cancelled', 'system',
                                 format('%s of %s viewers committed', v_count, v_show.min_participants));
        PERFORM lp.audit('show.cancel', 'show', v_show.id::text, jsonb_build_object('reason', v_show.end_reason));
        RETURN v_show;
    END IF;
    BEGIN
        UPDATE lp.shows AS s SET status = 'running', started_at = now() WHERE s.id = v_show.id
        RETURNING * INTO v_show;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'another show is running in this stream';
    END;
    UPDATE lp.show_participants AS p SET billed_from = now()
     WHERE p.id IN (SELECT q.id FROM lp.show_participants AS q WHERE q.show_id = v_show.id AND q.left_at IS NULL
                     ORDER BY q.id FOR NO KEY UPDATE SKIP LOCKED);
    PERFORM lp.emit_event(v_show.stream_id, 'show_started',
        jsonb_build_object('show_id', v_show.id, 'show_type', v_show.show_type, 'started_at', v_show.started_at,
                           'participants', v_count));
    PERFORM lp.audit('show.start', 'show', v_show.id::text,
                     jsonb_build_object('type', v_show.show_type, 'participants', v_count));
    RETURN v_show;
END
$$;
COMMENT ON FUNCTION api.start_show(uuid) IS 'The host starts their open group or ticket show: it runs from now (tickets are then due; group viewers are billed per minute). Group viewers who stopped watching the stream (no open viewing session with a heartbeat within streams.viewer_timeout_seconds) are out first, owing nothing, and do not count; tickets need no presence. A group show with fewer committed viewers still watching than its minimum does not start: it is cancelled and every reservation released (returned with status cancelled). LP002 not the host, LP003 unknown show, LP004 not open or another show running, LP022 the host is sanctioned, LP091 streams.viewer_timeout_seconds missing. Audited (show.start, show.cancel).';
REVOKE ALL ON FUNCTION api.start_show(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.start_show(uuid) TO livepanty_app, livepanty_service;
