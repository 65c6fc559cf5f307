CREATE FUNCTION api.add_stream_performer(p_stream_id uuid, p_performer_id uuid) RETURNS api.stream
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_host   uuid := lp.require_user('performer');
    v_stream lp.streams;
    v_role   lp.user_role;
BEGIN
    v_stream := lp.lock_stream(p_stream_id, ARRAY['scheduled'], 'take a co-performer', v_host);
    IF p_performer_id = v_host THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the host is on camera already';
    END IF;
    SELECT u.role INTO v_role FROM lp.users AS u WHERE u.id = p_performer_id AND u.deleted_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'performer not found';
    END IF;
    IF v_role <> 'performer' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP102', MESSAGE = 'only performers can be on camera';
    END IF;
    IF (SELECT count(*) FROM lp.stream_performers AS sp WHERE sp.stream_id = v_stream.id) >= 10 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'a stream has at most 10 co-performers';
    END IF;
    INSERT INTO lp.stream_performers (stream_id, performer_id) VALUES (v_stream.id, p_performer_id)
    ON CONFLICT DO NOTHING;
    PERFORM lp.audit('stream.add_performer', 'stream', v_stream.id::text,
                     jsonb_build_object('performer_id', p_performer_id));
    RETURN lp.stream_info(v_stream);
END
$$;
COMMENT ON FUNCTION api.add_stream_performer(uuid, uuid) IS 'The host of a scheduled stream puts another performer on camera with them (at most 10; adding one twice changes nothing). The co-performer must consent (api.consent_to_stream) and have approved KYC before the stream can start. LP003 unknown stream or performer, LP002 not the host, LP004 not scheduled, LP102 not a performer, LP018 the host themselves or more than 10. Audited (stream.add_performer).';
REVOKE ALL ON FUNCTION api.add_stream_performer(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.add_stream_performer(uuid, uuid) TO livepanty_app, livepanty_service;
