CREATE FUNCTION api.stream_shows(p_stream_id uuid)
RETURNS TABLE (
    id               uuid,
    show_type        text,
    status           text,
    rate             bigint,
    spy_rate         bigint,
    min_minutes      integer,
    min_participants integer,
    participants     integer,
    requested_by     uuid,
    answer_by        timestamptz,
    started_at       timestamptz,
    ended_at         timestamptz,
    ended_by         text,
    end_reason       text,
    my_role          text,
    my_due_tokens    bigint,
    my_billed_tokens bigint
)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_staff  boolean := coalesce(lp.current_user_role() IN ('moderator', 'admin'), false);
    v_stream lp.streams;
    v_on     boolean;  -- the host or a co-performer (lp.show_visible: they see every show of the stream)
BEGIN
    SELECT s.* INTO v_stream FROM lp.streams AS s WHERE s.id = p_stream_id
       AND (s.deleted_at IS NULL OR coalesce(lp.current_user_role() IN ('moderator', 'admin'), false));  -- a deleted stream: staff only
    IF v_stream.id IS NULL OR NOT lp.stream_visible(v_stream.id, v_actor) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
    END IF;
    v_on := v_stream.host_id = v_actor
            OR EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                        WHERE sp.stream_id = v_stream.id AND sp.performer_id = v_actor);
    -- Who may see the stream (lp.stream_visible) reads its shows as lp.show_visible lets them: the host, its
    -- co-performers and staff every show; a viewer the shows open to join or running, and those they take part
    -- in. Who asked for a private show: the host, staff and whoever asked.
    RETURN QUERY
    SELECT s.id, s.show_type::text, s.status::text, s.rate, s.spy_rate, s.min_minutes, s.min_participants,
           (SELECT count(*)::integer FROM lp.show_participants AS p WHERE p.show_id = s.id AND p.left_at IS NULL),
           CASE WHEN v_stream.host_id = v_actor OR v_staff OR s.requested_by = v_actor THEN s.requested_by END,
           s.answer_by, s.started_at, s.ended_at, s.ended_by, s.end_reason,
           m.role::text, m.due_tokens, m.billed_tokens
      FROM lp.shows AS s
      LEFT JOIN lp.show_participants AS m ON m.show_id = s.id AND m.user_id = v_actor
     WHERE s.stream_id = v_stream.id
       AND (v_on OR v_staff OR s.status IN ('open', 'running') OR m.id IS NOT NULL)
     ORDER BY s.created_at, s.id;
END
$$;
COMMENT ON FUNCTION api.stream_shows(uuid) IS 'The shows of a stream the acting user may see: all of them for the host, the co-performers and staff (the host and staff with who asked for each private one); for a viewer the open and running ones and those they take part in. my_role, my_due_tokens and my_billed_tokens describe the acting user''s own part. LP001 nobody acting, LP003 unknown or not visible stream (lp.stream_visible).';
REVOKE ALL ON FUNCTION api.stream_shows(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.stream_shows(uuid) TO livepanty_app, livepanty_service;
