CREATE FUNCTION api.remove_stream_performer(p_stream_id uuid, p_performer_id uuid) RETURNS api.stream
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_host   uuid := lp.require_user('performer');
    v_stream lp.streams;
BEGIN
    v_stream := lp.lock_stream(p_stream_id, ARRAY['scheduled'], 'drop a co-performer', v_host);
    DELETE FROM lp.stream_performers AS sp WHERE sp.stream_id = v_stream.id AND sp.performer_id = p_performer_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'that performer is not on this stream';
    END IF;
    PERFORM lp.audit('stream.remove_performer', 'stream', v_stream.id::text,
                     jsonb_build_object('performer_id', p_performer_id));
    RETURN lp.stream_info(v_stream);
END
$$;
COMMENT ON FUNCTION api.remove_stream_performer(uuid, uuid) IS 'The host of a scheduled stream takes a co-performer off it (a consent they gave stays on record). LP003 unknown stream or not a co-performer of it, LP002 not the host, LP004 not scheduled. Audited (stream.remove_performer).';
REVOKE ALL ON FUNCTION api.remove_stream_performer(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.remove_stream_performer(uuid, uuid) TO livepanty_app, livepanty_service;
