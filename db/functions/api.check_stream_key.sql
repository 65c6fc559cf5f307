CREATE FUNCTION api.check_stream_key(p_stream_key text) RETURNS api.stream
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_stream lp.streams;
    v_gaps   text[];
BEGIN
    IF p_stream_key IS NOT NULL AND char_length(p_stream_key) = 43 THEN
        SELECT s.* INTO v_stream FROM lp.streams AS s
         WHERE s.stream_key_hash = lp.hash_token(p_stream_key) AND s.status = 'live' AND s.deleted_at IS NULL;
    END IF;
    IF v_stream.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP122', MESSAGE = 'invalid stream key';
    END IF;
    -- The gate holds for as long as the stream is live: an ingest that checks its key now and then learns
    -- at once when a verification expired (the viewer sweep then ends the stream).
    v_gaps := lp.go_live_gaps(v_stream.id, v_stream.host_id);
    IF cardinality(v_gaps) > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP120', MESSAGE = 'the stream may no longer be live',
            DETAIL = array_to_string(v_gaps, '; ');
    END IF;
    RETURN lp.stream_info(v_stream);
END
$$;
COMMENT ON FUNCTION api.check_stream_key(text) IS 'Back office only (the ingest service): the live stream an ingest key belongs to. LP122 for any key that is not the current key of a live stream (unknown, rotated away, or of a stream that ended), without saying which; LP120 for the key of a live stream whose cast no longer passes the go-live gate (DETAIL: who lacks what; the stream is ended by the next api.sweep_viewers).';
REVOKE ALL ON FUNCTION api.check_stream_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.check_stream_key(text) TO livepanty_service;
