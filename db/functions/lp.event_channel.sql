CREATE FUNCTION lp.event_channel(p_stream_id uuid) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- A keyed name, not the stream id: PostgreSQL has no privilege on LISTEN, so a name anyone could compute
    -- from a stream's id would let any login learn when a private stream's events happen. Only
    -- api.stream_channel hands it out, to who may read the stream's events. 48 hex digits (192 bits) of an
    -- HMAC-SHA256 keyed by lp.secrets 'pseudonym' in a domain of its own: 58 characters, within NAMEDATALEN.
    -- The name depends on the stream's visibility as it is now: a public stream's channel (told to anyone
    -- signed in) is not its channel once it is private or group, so a login that learned it while the stream
    -- was public hears none of its wake-ups after (api.update_stream wakes the old channel's listeners with the
    -- payload 'channel': ask api.stream_channel again). A stream made public again gets its public name back.
    SELECT 'lp_stream_'
           || left(encode(ext.hmac(convert_to('lp-stream-channel-v1|' || p_stream_id::text
                                              || coalesce((SELECT '|' || s.visibility::text FROM lp.streams AS s
                                                            WHERE s.id = p_stream_id AND s.visibility <> 'public'),
                                                          ''),
                                              'UTF8'),
                                   (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym'), 'sha256'),
                          'hex'),
                   48)
$$;
COMMENT ON FUNCTION lp.event_channel(uuid) IS 'The LISTEN channel of a stream''s events: lp_stream_ and 48 hex digits of an HMAC-SHA256 of the stream id, and of its visibility unless public, keyed by lp.secrets ''pseudonym'' (domain lp-stream-channel-v1), so that only who is handed it (api.stream_channel, which checks the reader may see the stream) can listen, and a public stream''s channel is not the channel of the stream made private or group. Reads lp.secrets: owner code only.';
REVOKE ALL ON FUNCTION lp.event_channel(uuid) FROM PUBLIC;
