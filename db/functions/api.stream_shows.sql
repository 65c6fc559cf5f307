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
BEGIN
    SELECT s.* INTO v_stream FROM lp.streams AS s WHERE s.id = p_stream_id AND s.deleted_at IS NULL;
    IF v_stream.id IS NULL OR (v_stream.visibility <> 'public' AND v_stream.host_id <> v_actor AND NOT v_staff) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
    END IF;
    -- The host and staff see every show of the stream and who asked for the private ones; a viewer sees the
    -- shows open to join or running, and those they take part in (who asked is theirs to see only if they did).
    RETURN QUERY
    SELECT s.id, s.show_type::text, s.status::text, s.rate, s.spy_rate, s.min_minutes, s.min_participants,
           (SELECT count(*)::integer FROM lp.show_participants AS p WHERE p.show_id = s.id AND p.left_at IS NULL),
           CASE WHEN v_stream.host_id = v_actor OR v_staff OR s.requested_by = v_actor THEN s.requested_by END,
           s.answer_by, s.started_at, s.ended_at, s.ended_by, s.end_reason,
           m.role::text, m.due_tokens, m.billed_tokens
      FROM lp.shows AS s
      LEFT JOIN lp.show_participants AS m ON m.show_id = s.id AND m.user_id = v_actor
     WHERE s.stream_id = v_stream.id
       AND (v_stream.host_id = v_actor OR v_staff OR s.status IN ('open', 'running') OR m.id IS NOT NULL)
     ORDER BY s.created_at, s.id;
END
$$;
COMMENT ON FUNCTION api.stream_shows(uuid) IS 'The shows of a stream the acting user may see: all of them for the host and staff (with who asked for each private one); for a viewer the open and running ones and those they take part in. my_role, my_due_tokens and my_billed_tokens describe the acting user''s own part. LP001 nobody acting, LP003 unknown or not visible stream.';
REVOKE ALL ON FUNCTION api.stream_shows(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.stream_shows(uuid) TO livepanty_app, livepanty_service;
