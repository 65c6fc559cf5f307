CREATE FUNCTION lp.emit_event(p_stream_id uuid, p_kind lp.stream_event_kind, p_payload jsonb DEFAULT '{}')
    RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    -- Appended in the caller's transaction: the event exists if and only if what it tells happened.
    INSERT INTO lp.stream_events (stream_id, kind, payload) VALUES (p_stream_id, p_kind, coalesce(p_payload, '{}'))
    RETURNING id INTO v_id;
    -- A wake-up, delivered at commit (never the event: NOTIFY payloads are limited and public to listeners);
    -- with events.wake_up "notifier", the notifier job sends it (api.wake_stream_listeners) instead.
    IF lp.setting('events.wake_up') = '"commit"' THEN
        PERFORM pg_notify(lp.event_channel(p_stream_id), v_id::text);
    END IF;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION lp.emit_event(uuid, lp.stream_event_kind, jsonb) IS 'Appends an event to a stream''s log in the caller''s transaction and wakes its listeners at commit (pg_notify on lp.event_channel(stream) with the event id only), unless events.wake_up is "notifier" (then api.wake_stream_listeners does). Returns the event id.';
REVOKE ALL ON FUNCTION lp.emit_event(uuid, lp.stream_event_kind, jsonb) FROM PUBLIC;
