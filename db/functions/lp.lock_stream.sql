CREATE FUNCTION lp.lock_stream(p_stream_id uuid, p_from text[], p_action text, p_host uuid DEFAULT NULL)
    RETURNS lp.streams
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := api.current_user_id();
    v_staff  boolean := coalesce(lp.current_user_role() IN ('moderator', 'admin'), false);
    v_stream lp.streams;
BEGIN
    -- The first step of every stream transition: the stream row, before anything else (FOR NO KEY UPDATE: the
    -- id never changes, and foreign-key checks of tips and viewers naming the stream are not blocked). A stream
    -- the acting user may not see (lp.stream_visible's rule, written out here so that it is checked again on the
    -- row as it is once locked) is not found, as one that does not exist: LP003 before LP002 or LP004, which
    -- would tell that it exists; and its row is neither locked nor waited for.
    SELECT s.* INTO v_stream FROM lp.streams AS s
     WHERE s.id = p_stream_id
       AND (v_staff
            OR (s.deleted_at IS NULL
                AND (s.visibility = 'public' OR s.host_id = v_actor
                     OR EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                                 WHERE sp.stream_id = s.id AND sp.performer_id = v_actor))))
       FOR NO KEY UPDATE OF s;
    IF v_stream.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
    END IF;
    IF p_host IS NOT NULL AND v_stream.host_id <> p_host THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = format('only the host can %s the stream', p_action);
    END IF;
    IF (v_stream.status::text = ANY (p_from)) IS NOT TRUE THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004',
            MESSAGE = format('a %s stream cannot %s', v_stream.status, p_action),
            DETAIL = format('only a stream in status %s can %s', array_to_string(p_from, ' or '), p_action);
    END IF;
    RETURN v_stream;
END
$$;
COMMENT ON FUNCTION lp.lock_stream(uuid, text[], text, uuid) IS 'The first step of every stream transition: locks the stream row (FOR NO KEY UPDATE) and returns it; LP003 when it does not exist or the acting user may not see it (lp.stream_visible''s rule: deleted, or not public, and they neither host it nor perform in it; staff see every stream, a deleted one too, and get the answer below; such a row is not locked), LP002 when p_host is given and is not its host, LP004 when its status is not one of p_from (the message names the status and p_action).';
REVOKE ALL ON FUNCTION lp.lock_stream(uuid, text[], text, uuid) FROM PUBLIC;
