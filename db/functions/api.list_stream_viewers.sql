CREATE FUNCTION api.list_stream_viewers(p_stream_id uuid)
RETURNS TABLE (
    user_id           uuid,
    username          text,
    joined_at         timestamptz,
    last_heartbeat_at timestamptz,
    watch_seconds     bigint
)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_stream lp.streams;
BEGIN
    SELECT s.* INTO v_stream FROM lp.streams AS s WHERE s.id = p_stream_id
       AND (s.deleted_at IS NULL OR coalesce(lp.current_user_role() IN ('moderator', 'admin'), false));  -- a deleted stream: staff only
    IF v_stream.id IS NULL OR NOT lp.stream_visible(v_stream.id, v_actor) THEN  -- LP003: its existence is not told
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
    END IF;
    IF v_stream.host_id <> v_actor AND coalesce(lp.current_user_role(), '') NOT IN ('moderator', 'admin') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only the host and staff see who is watching';
    END IF;
    -- Lazily on read: sessions past the timeout are closed first, so the list shows who is really there.
    PERFORM lp.close_stale_viewers(v_stream.id, 100000);
    RETURN QUERY
    SELECT v.user_id, u.username::text, v.joined_at, v.last_heartbeat_at,
           (SELECT coalesce(sum(floor(extract(epoch FROM coalesce(p.left_at, now()) - p.joined_at))), 0)::bigint
              FROM lp.stream_viewers AS p WHERE p.stream_id = v.stream_id AND p.user_id = v.user_id)
      FROM lp.stream_viewers AS v
      JOIN lp.users AS u ON u.id = v.user_id
     WHERE v.stream_id = v_stream.id AND v.left_at IS NULL
     ORDER BY v.joined_at, v.user_id;
END
$$;
COMMENT ON FUNCTION api.list_stream_viewers(uuid) IS 'Who is watching a stream now (host and staff): each open viewing session with the viewer, when they joined, their last heartbeat and their total watch time in this stream (every session, the open one up to now). Sessions past streams.viewer_timeout_seconds are closed first (a write that stays only if the caller commits). LP003 unknown stream, or one the caller may not see (lp.stream_visible: a deleted one only staff), LP002 neither the host nor staff.';
REVOKE ALL ON FUNCTION api.list_stream_viewers(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_stream_viewers(uuid) TO livepanty_app, livepanty_service;
