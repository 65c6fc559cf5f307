CREATE FUNCTION lp.event_position(p_position text, OUT tx xid8, OUT id bigint)
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- A position as api.stream_events and api.wake_stream_listeners return it: 'tx/id'. Anything else,
    -- numbers beyond xid8 or bigint included, is LP018 (never 22003; xid8's input would saturate silently).
    IF p_position IS NULL OR p_position !~ '^[0-9]{1,20}/[0-9]{1,19}$'
       OR split_part(p_position, '/', 1)::numeric > 18446744073709551615
       OR split_part(p_position, '/', 2)::numeric > 9223372036854775807 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_after is a position returned by this function (tx/id)';
    END IF;
    tx := split_part(p_position, '/', 1)::xid8;
    id := split_part(p_position, '/', 2)::bigint;
END
$$;
COMMENT ON FUNCTION lp.event_position(text) IS 'Parses an event position (tx/id, as api.stream_events returns it) into its transaction id and event id; LP018 for anything else, numbers out of range included.';
REVOKE ALL ON FUNCTION lp.event_position(text) FROM PUBLIC;
