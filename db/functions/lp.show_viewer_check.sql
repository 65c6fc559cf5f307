CREATE FUNCTION lp.show_viewer_check(p_stream lp.streams, p_viewer uuid) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- Who may ask for, join or spy on a show of a stream: a viewer watching it right now (lp.is_watching: an
    -- open viewing session with a heartbeat within streams.viewer_timeout_seconds, the rule that starts and
    -- bills shows; the heartbeat is what stops a show when their connection is lost), not the host.
    IF p_stream.id IS NULL OR p_stream.visibility <> 'public' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
    END IF;
    IF p_stream.status <> 'live' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP104', MESSAGE = 'the stream is not live',
            DETAIL = format('stream status %s', p_stream.status);
    END IF;
    IF p_stream.host_id = p_viewer THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the host does not take part in their own show as a viewer';
    END IF;
    IF NOT lp.is_watching(p_stream.id, p_viewer,
                          now() - make_interval(secs => (lp.setting('streams.viewer_timeout_seconds'))::integer)) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP123', MESSAGE = 'not watching this stream',
            HINT = 'Join the stream first (api.join_stream).';
    END IF;
END
$$;
COMMENT ON FUNCTION lp.show_viewer_check(lp.streams, uuid) IS 'LP003 unless the stream exists and is public, LP104 unless it is live, LP018 for its host, LP123 unless the user watches it now (an open viewing session with a heartbeat within streams.viewer_timeout_seconds): the conditions for asking for, joining or spying on a show.';
REVOKE ALL ON FUNCTION lp.show_viewer_check(lp.streams, uuid) FROM PUBLIC;
