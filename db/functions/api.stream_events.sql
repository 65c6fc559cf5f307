CREATE FUNCTION api.stream_events(p_stream_id uuid, p_after text DEFAULT NULL, p_limit integer DEFAULT 100)
RETURNS TABLE (
    "position" text,
    id         bigint,
    kind       text,
    payload    jsonb,
    created_at timestamptz
)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_admin  boolean := lp.current_user_role() IS NOT DISTINCT FROM 'admin';
    v_stream lp.streams;
    v_tx     xid8;
    v_id     bigint;
    v_purged lp.stream_event_horizons;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 1000';
    END IF;
    SELECT s.* INTO v_stream FROM lp.streams AS s WHERE s.id = p_stream_id
       AND (s.deleted_at IS NULL OR coalesce(lp.current_user_role() IN ('moderator', 'admin'), false));  -- a deleted stream: staff only
    IF v_stream.id IS NULL
       OR (v_stream.visibility <> 'public' AND v_stream.host_id <> v_actor
           AND NOT EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                            WHERE sp.stream_id = v_stream.id AND sp.performer_id = v_actor)
           AND coalesce(lp.current_user_role(), '') NOT IN ('moderator', 'admin')) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
    END IF;
    IF p_after IS NOT NULL THEN
        SELECT p.tx, p.id INTO v_tx, v_id FROM lp.event_position(p_after) AS p;  -- LP018 when malformed
    END IF;
    SELECT h.* INTO v_purged FROM lp.stream_event_horizons AS h WHERE h.stream_id = v_stream.id;
    IF v_purged.stream_id IS NOT NULL THEN
        IF v_tx IS NULL THEN
            -- From the start: the start is the horizon. An event left behind it (the purge goes by age) is
            -- never served, so a reader that resynced is never sent back behind the horizon (LP125 again).
            v_tx := v_purged.tx;
            v_id := v_purged.id;
        ELSIF (v_tx, v_id) < (v_purged.tx, v_purged.id) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP125', MESSAGE = 'events after this position were purged',
                DETAIL = format('purged through %s/%s', v_purged.tx, v_purged.id),
                HINT = 'Resync: read the stream''s state (api.get_stream), then the events from the start (p_after NULL).';
        END IF;
    END IF;
    -- Only events of transactions older than every transaction still running: none of those can still commit,
    -- so nothing ever appears behind a position already returned. A tip's sender is named unless the tip is
    -- anonymous (then only admins learn who).
    RETURN QUERY
    SELECT e.tx::text || '/' || e.id::text, e.id, e.kind::text,
           CASE WHEN e.kind IN ('tip', 'menu_item') THEN
                    CASE WHEN (e.payload ->> 'anonymous')::boolean AND NOT v_admin
                         THEN (e.payload - 'sender_id') || jsonb_build_object('sender_name', 'anonymous')
                         ELSE e.payload || jsonb_build_object('sender_name', coalesce(u.display_name, u.username::text))
                    END
                ELSE e.payload END,
           e.created_at
      FROM lp.stream_events AS e
      LEFT JOIN lp.users AS u ON e.kind IN ('tip', 'menu_item') AND u.id = (e.payload ->> 'sender_id')::uuid
     WHERE e.stream_id = v_stream.id
       AND (v_tx IS NULL OR (e.tx, e.id) > (v_tx, v_id))
       AND e.tx < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY e.tx, e.id
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.stream_events(uuid, text, integer) IS 'A stream''s events after a position (NULL: from the oldest kept), in their one order, at most p_limit (1..1000): position (pass the last one back as p_after), id, kind (stream_started, stream_ended, tip, menu_item, viewer_count, goal_started, goal_reached, goal_missed, goal_cancelled, show_requested, show_opened, show_started, show_ended, moderation), payload, created_at. Only events of finished transactions older than every running one: a position once returned never has an event appear behind it. Tips and menu items bought name their sender (sender_id, sender_name) unless anonymous ("anonymous" for everyone but admins). Visible like the stream: public ones to any signed-in user, others to the host, co-performers and staff. LP001 nobody acting, LP003 unknown or not visible stream, LP018 bad position or limit, LP125 the events after p_after were purged (resync).';
REVOKE ALL ON FUNCTION api.stream_events(uuid, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.stream_events(uuid, text, integer) TO livepanty_app, livepanty_service;
