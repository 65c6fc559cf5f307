CREATE FUNCTION api.answer_show(p_show_id uuid, p_accept boolean, p_reason text DEFAULT NULL) RETURNS lp.shows
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_host    uuid := lp.require_user('performer');
    v_reason  text := lp.check_text(p_reason, 'reason', 1000);
    v_show    lp.shows;
    v_part    lp.show_participants;
    v_timeout interval;
BEGIN
    IF p_accept IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_accept is true or false';
    END IF;
    v_show := lp.lock_show(p_show_id, ARRAY['requested'], 'be answered');
    IF v_show.host_id <> v_host THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only the host answers a show request';
    END IF;
    IF NOT p_accept THEN
        v_show := lp.finish_show(v_show, 'declined', 'host', v_reason);
        PERFORM lp.audit('show.decline', 'show', v_show.id::text, jsonb_build_object('reason', v_reason));
        RETURN v_show;
    END IF;
    IF v_show.answer_by <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the request expired',
            DETAIL = format('it had to be answered by %s', v_show.answer_by);
    END IF;
    PERFORM lp.assert_not_sanctioned(v_host);
    -- The payer must still be watching: an open viewing session of the stream whose heartbeat is within
    -- streams.viewer_timeout_seconds (the rule of api.bill_shows step 2). One who stopped before the start is
    -- out, by their doing, owing nothing (billing never started: their reservation is released by
    -- api.bill_shows), and the request is cancelled instead of running for nobody. Lock order: the show row
    -- (above), then the participant's row. The session is read, not locked: a viewer leaving the stream at this
    -- very moment may be counted in; api.bill_shows step 2 then takes them out at the start, owing nothing.
    v_timeout := make_interval(secs => (lp.setting('streams.viewer_timeout_seconds'))::integer);
    SELECT p.* INTO v_part FROM lp.show_participants AS p
     WHERE p.show_id = v_show.id AND p.left_at IS NULL AND p.role = 'payer'
       AND NOT lp.is_watching(v_show.stream_id, p.user_id, now() - v_timeout)
     ORDER BY p.id
       FOR NO KEY UPDATE;
    IF v_part.id IS NOT NULL THEN
        PERFORM lp.close_participation(v_part, v_show, now(), 'viewer');
        v_show := lp.finish_show(v_show, 'cancelled', 'viewer', 'viewer stopped watching');
        PERFORM lp.audit('show.cancel', 'show', v_show.id::text, jsonb_build_object('reason', v_show.end_reason));
        RETURN v_show;
    END IF;
    BEGIN
        UPDATE lp.shows AS s SET status = 'running', started_at = now() WHERE s.id = v_show.id
        RETURNING * INTO v_show;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'another show is running in this stream';
    END;
    UPDATE lp.show_participants AS p SET billed_from = now() WHERE p.show_id = v_show.id AND p.left_at IS NULL;
    PERFORM lp.emit_event(v_show.stream_id, 'show_started',
        jsonb_build_object('show_id', v_show.id, 'show_type', v_show.show_type, 'started_at', v_show.started_at));
    PERFORM lp.audit('show.start', 'show', v_show.id::text, jsonb_build_object('type', v_show.show_type));
    RETURN v_show;
END
$$;
COMMENT ON FUNCTION api.answer_show(uuid, boolean, text) IS 'The host answers a private show request: accepted, it runs now and its viewer is billed per minute from now (api.bill_shows), unless they stopped watching the stream (no open viewing session with a heartbeat within streams.viewer_timeout_seconds): then it is cancelled instead (ended_by viewer, reason viewer stopped watching; they owe nothing) and returned so; declined (optional reason), its reservation is released. LP002 not the host, LP003 unknown show, LP004 not a pending request, expired, or another show running, LP018 p_accept NULL or reason too long, LP022 the host is sanctioned, LP091 streams.viewer_timeout_seconds missing. Audited (show.start, show.decline, show.cancel).';
REVOKE ALL ON FUNCTION api.answer_show(uuid, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.answer_show(uuid, boolean, text) TO livepanty_app, livepanty_service;
