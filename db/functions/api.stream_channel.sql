CREATE FUNCTION api.stream_channel(p_stream_id uuid) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor uuid := lp.require_user();
BEGIN
    -- The wake-ups of a stream's events go to a channel whose name only this function tells, and only to who
    -- may read those events (api.stream_events' rule, lp.stream_visible): anyone signed in for a public
    -- stream; its host, co-performers and staff for a private or group one. LP003 for everyone else, as for a
    -- stream that does not exist.
    IF NOT lp.stream_visible(p_stream_id, v_actor) THEN  -- a deleted stream: staff only
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
    END IF;
    RETURN lp.event_channel(p_stream_id);
END
$$;
COMMENT ON FUNCTION api.stream_channel(uuid) IS 'The LISTEN channel of a stream''s events (lp.event_channel: a keyed name, not derivable from the stream id), for the acting user who may read them (api.stream_events'' rule: a public stream, or its host, co-performers and staff). NOTIFY on it carries an event id as a hint, never the event: read with api.stream_events. LP001 nobody acting, LP003 no such stream or not visible to the caller.';
REVOKE ALL ON FUNCTION api.stream_channel(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.stream_channel(uuid) TO livepanty_app, livepanty_service;
