CREATE FUNCTION api.count_guest(p_stream_id uuid) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_stream lp.streams;
BEGIN
    -- A visitor who is not logged in opened a live public stream: counted, nothing recorded about them.
    SELECT s.* INTO v_stream FROM lp.streams AS s WHERE s.id = p_stream_id AND s.deleted_at IS NULL;
    IF v_stream.id IS NULL OR v_stream.visibility <> 'public' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
    END IF;
    IF v_stream.status <> 'live' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP104', MESSAGE = 'the stream is not live';
    END IF;
    PERFORM lp.count_viewers(v_stream.id, 0, p_guests => 1);
    RETURN (SELECT sum(c.guest_joins)::integer FROM lp.stream_counters AS c WHERE c.stream_id = v_stream.id);
END
$$;
COMMENT ON FUNCTION api.count_guest(uuid) IS 'Guest mode of joining: the application counts a visitor who is not logged in opening a live public stream; no user, session or address is recorded. Returns the stream''s guest joins so far. Guests are counted apart from viewers (not in the viewer count, not in the peak). LP003 unknown, deleted or not public, LP104 not live.';
REVOKE ALL ON FUNCTION api.count_guest(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.count_guest(uuid) TO livepanty_app, livepanty_service;
