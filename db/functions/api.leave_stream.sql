CREATE FUNCTION api.leave_stream(p_stream_id uuid) RETURNS api.viewing
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user    uuid := lp.require_user();
    v_session lp.stream_viewers;
BEGIN
    v_session := lp.close_viewing(p_stream_id, v_user);
    IF v_session.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP123', MESSAGE = 'not watching this stream';
    END IF;
    RETURN ROW(v_session.id, v_session.stream_id, v_session.joined_at, v_session.last_heartbeat_at, v_session.left_at,
               (SELECT greatest(sum(c.current_viewers), 0)::integer FROM lp.stream_counters AS c
                 WHERE c.stream_id = p_stream_id))::api.viewing;
END
$$;
COMMENT ON FUNCTION api.leave_stream(uuid) IS 'The acting user stops watching: their open viewing session ends (its watch time counted) and the viewer count drops. LP123 when they have no open session of the stream.';
REVOKE ALL ON FUNCTION api.leave_stream(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.leave_stream(uuid) TO livepanty_app, livepanty_service;
