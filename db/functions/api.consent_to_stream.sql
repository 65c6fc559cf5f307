CREATE FUNCTION api.consent_to_stream(p_stream_id uuid, p_ip_address inet, p_user_agent text DEFAULT NULL)
    RETURNS lp.stream_consents
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor   uuid := lp.require_user('performer');
    v_agent   text := lp.check_text(p_user_agent, 'user_agent', 512);
    v_stream  lp.streams;
    v_consent lp.stream_consents;
BEGIN
    v_stream := lp.lock_stream(p_stream_id, ARRAY['scheduled'], 'take consents');
    IF v_stream.host_id <> v_actor
       AND NOT EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                        WHERE sp.stream_id = v_stream.id AND sp.performer_id = v_actor) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only the performers on a stream consent to it';
    END IF;
    IF p_ip_address IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the consent needs the IP address it is given from';
    END IF;
    -- Once per stream and performer, and never changed: a repeated consent returns the one on record.
    INSERT INTO lp.stream_consents (stream_id, performer_id, ip_address, user_agent)
    VALUES (v_stream.id, v_actor, p_ip_address, v_agent)
    ON CONFLICT (stream_id, performer_id) DO NOTHING
    RETURNING * INTO v_consent;
    IF v_consent.stream_id IS NULL THEN
        SELECT c.* INTO v_consent FROM lp.stream_consents AS c
         WHERE c.stream_id = v_stream.id AND c.performer_id = v_actor;
        RETURN v_consent;
    END IF;
    PERFORM lp.audit('stream.consent', 'stream', v_stream.id::text, '{}'::jsonb, p_ip_address);
    RETURN v_consent;
END
$$;
COMMENT ON FUNCTION api.consent_to_stream(uuid, inet, text) IS 'The acting performer (the host or a co-performer of a scheduled stream) consents to appear in it, from p_ip_address (required) with an optional user agent (512 characters). One consent per stream and performer, kept immutable: a repeated call returns the consent on record. LP003 unknown stream, LP002 not a performer on the stream, LP004 not scheduled, LP018 no IP address or user agent too long. Audited (stream.consent).';
REVOKE ALL ON FUNCTION api.consent_to_stream(uuid, inet, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.consent_to_stream(uuid, inet, text) TO livepanty_app, livepanty_service;
