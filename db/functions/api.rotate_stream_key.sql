CREATE FUNCTION api.rotate_stream_key(p_stream_id uuid) RETURNS api.stream_start
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_host   uuid := lp.require_user('performer');
    v_stream lp.streams;
    v_key    text := lp.new_token();
BEGIN
    v_stream := lp.lock_stream(p_stream_id, ARRAY['live'], 'get a new key', v_host);
    UPDATE lp.streams AS s SET stream_key_hash = lp.hash_token(v_key), stream_key_issued_at = now()
     WHERE s.id = v_stream.id
    RETURNING * INTO v_stream;
    PERFORM lp.audit('stream.rotate_key', 'stream', v_stream.id::text);
    RETURN ROW(v_stream.id, v_stream.status::text, v_stream.started_at, v_key, v_stream.stream_key_issued_at)::api.stream_start;
END
$$;
COMMENT ON FUNCTION api.rotate_stream_key(uuid) IS 'The host of a live stream replaces its ingest key: the new key is returned this once, the old one stops working at once (api.check_stream_key). LP003 unknown stream, LP002 not the host, LP004 not live. Audited (stream.rotate_key).';
REVOKE ALL ON FUNCTION api.rotate_stream_key(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.rotate_stream_key(uuid) TO livepanty_app, livepanty_service;
