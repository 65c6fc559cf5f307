CREATE FUNCTION lp.close_stale_viewers(p_stream_id uuid, p_limit integer) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_timeout interval := make_interval(secs => (lp.setting('streams.viewer_timeout_seconds'))::integer);
    v_stale   record;
    v_closed  integer := 0;
BEGIN
    -- Sessions whose heartbeat is past the timeout, of one stream (NULL: of every stream), at most p_limit;
    -- each closed by lp.close_viewing. SKIP LOCKED: a session being heartbeaten or closed right now is left
    -- to that transaction (it is not stale, or will not be open).
    FOR v_stale IN
        SELECT v.stream_id, v.user_id FROM lp.stream_viewers AS v
         WHERE v.left_at IS NULL AND v.last_heartbeat_at < now() - v_timeout
           AND (p_stream_id IS NULL OR v.stream_id = p_stream_id)
         ORDER BY v.stream_id, v.id  -- counter rows are then taken stream by stream: two sweeps cannot cycle
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    LOOP
        IF (lp.close_viewing(v_stale.stream_id, v_stale.user_id, true)).id IS NOT NULL THEN
            v_closed := v_closed + 1;
        END IF;
    END LOOP;
    RETURN v_closed;
END
$$;
COMMENT ON FUNCTION lp.close_stale_viewers(uuid, integer) IS 'Closes at most p_limit viewing sessions whose last heartbeat is older than streams.viewer_timeout_seconds, of one stream or (NULL) of all, skipping sessions locked right now. Returns how many it closed.';
REVOKE ALL ON FUNCTION lp.close_stale_viewers(uuid, integer) FROM PUBLIC;
