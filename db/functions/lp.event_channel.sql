CREATE FUNCTION lp.event_channel(p_stream_id uuid) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT 'lp_stream_' || pg_catalog.replace(p_stream_id::text, '-', '')
$$;
COMMENT ON FUNCTION lp.event_channel(uuid) IS 'The LISTEN channel of a stream''s events: lp_stream_ and the id''s 32 hex digits (42 characters, within NAMEDATALEN). Clients compute the same name (livepanty_db.events.channel).';
REVOKE ALL ON FUNCTION lp.event_channel(uuid) FROM PUBLIC;
