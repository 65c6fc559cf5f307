CREATE FUNCTION lp.event_channel(p_stream_id uuid) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- A keyed name, not the stream id: PostgreSQL has no privilege on LISTEN, so a name anyone could compute
    -- from a stream's id would let any login learn when a private stream's events happen. Only
    -- api.stream_channel hands it out, to who may read the stream's events. 48 hex digits (192 bits) of an
    -- HMAC-SHA256 keyed by lp.secrets 'pseudonym' in a domain of its own: 58 characters, within NAMEDATALEN.
    SELECT 'lp_stream_'
           || left(encode(ext.hmac(convert_to('lp-stream-channel-v1|' || p_stream_id::text, 'UTF8'),
                                   (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym'), 'sha256'),
                          'hex'),
                   48)
$$;
COMMENT ON FUNCTION lp.event_channel(uuid) IS 'The LISTEN channel of a stream''s events: lp_stream_ and 48 hex digits of an HMAC-SHA256 of the stream id keyed by lp.secrets ''pseudonym'' (domain lp-stream-channel-v1), so that only who is handed it (api.stream_channel, which checks the reader may see the stream) can listen. Reads lp.secrets: owner code only.';
REVOKE ALL ON FUNCTION lp.event_channel(uuid) FROM PUBLIC;
