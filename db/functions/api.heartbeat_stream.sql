CREATE FUNCTION api.heartbeat_stream(p_stream_id uuid) RETURNS api.viewing
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user    uuid := lp.require_user();
    v_session lp.stream_viewers;
BEGIN
    -- The hot path: one UPDATE of the viewer's own row (a HOT update: no indexed column changes), no other
    -- lock, no new row; the count is read from the counter rows, not counted from the sessions. Never back in
    -- time: now() is this transaction's start, and the session may have been (re)opened by a later one.
    UPDATE lp.stream_viewers AS v SET last_heartbeat_at = greatest(v.last_heartbeat_at, now())
     WHERE v.stream_id = p_stream_id AND v.user_id = v_user AND v.left_at IS NULL
    RETURNING v.* INTO v_session;
    IF v_session.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP123', MESSAGE = 'not watching this stream',
            HINT = 'The session ended (left, timed out, stream ended or blocked): join again (api.join_stream).';
    END IF;
    RETURN ROW(v_session.id, v_session.stream_id, v_session.joined_at, v_session.last_heartbeat_at, NULL,
               (SELECT greatest(sum(c.current_viewers), 0)::integer FROM lp.stream_counters AS c
                 WHERE c.stream_id = p_stream_id))::api.viewing;
END
$$;
COMMENT ON FUNCTION api.heartbeat_stream(uuid) IS 'The acting user''s player says it is still watching: refreshes their open viewing session (one in-place update of their own row; no lock shared with other viewers) and returns it with the current viewer count. LP123 when they have no open session of the stream (never joined, left, timed out, the stream ended, or they were blocked): join again.';
REVOKE ALL ON FUNCTION api.heartbeat_stream(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.heartbeat_stream(uuid) TO livepanty_app, livepanty_service;
