CREATE FUNCTION lp.close_viewing(p_stream_id uuid, p_user_id uuid, p_stale_only boolean DEFAULT false)
    RETURNS lp.stream_viewers
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_session lp.stream_viewers;
    v_timeout interval := make_interval(secs => (lp.setting('streams.viewer_timeout_seconds'))::integer);
BEGIN
    -- Ends a user's open viewing session of a stream and takes it off the counters. A session past the
    -- timeout ends at its last heartbeat (what was watched), a live one now. p_stale_only: only if past the
    -- timeout (the sweep, reads). NULL when there was nothing to close. (now() is when this transaction
    -- started: a session opened by a transaction that started later has a later joined_at, hence greatest.)
    UPDATE lp.stream_viewers AS v
       SET left_at = CASE WHEN v.last_heartbeat_at < now() - v_timeout THEN v.last_heartbeat_at
                          ELSE greatest(v.last_heartbeat_at, now()) END
     WHERE v.stream_id = p_stream_id AND v.user_id = p_user_id AND v.left_at IS NULL
       AND (NOT p_stale_only OR v.last_heartbeat_at < now() - v_timeout)
    RETURNING v.* INTO v_session;
    IF v_session.id IS NOT NULL THEN
        PERFORM lp.count_viewers(p_stream_id, -1,
                                 p_seconds => floor(extract(epoch FROM v_session.left_at - v_session.joined_at))::bigint);
    END IF;
    RETURN v_session;
END
$$;
COMMENT ON FUNCTION lp.close_viewing(uuid, uuid, boolean) IS 'Ends a user''s open viewing session of a stream (left_at: its last heartbeat when past streams.viewer_timeout_seconds, else now) and takes it off the viewer counters, adding its watch time. With p_stale_only, only a session past the timeout. Returns the closed session, or NULL.';
REVOKE ALL ON FUNCTION lp.close_viewing(uuid, uuid, boolean) FROM PUBLIC;
