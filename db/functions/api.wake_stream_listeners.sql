CREATE FUNCTION api.wake_stream_listeners(p_after text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_position text;
    v_wake     record;
BEGIN
    -- The notifier (events.wake_up "notifier"): one wake-up per stream that has events after p_after (the
    -- position this function returned last time; NULL: from now), whatever their number: one NOTIFY per stream
    -- and call instead of one per tip. lp.stream_wakeups reads them; through a router, its api function of
    -- this name sends every shard's wake-ups to the router's listeners (docs/scale-out.md).
    FOR v_wake IN SELECT * FROM lp.stream_wakeups(p_after) LOOP
        v_position := v_wake.next_position;
        IF v_wake.channel IS NOT NULL THEN
            PERFORM pg_notify(v_wake.channel, v_wake.event_id::text);
        END IF;
    END LOOP;
    RETURN v_position;
END
$$;
COMMENT ON FUNCTION api.wake_stream_listeners(text) IS 'Back office, the notifier of events.wake_up "notifier" (livepanty-db jobs wake-listeners runs it in a loop): sends one wake-up per stream that has events after p_after (a position this function returned; NULL: returns the newest position and wakes nobody), and returns the new position to pass next time. Reads events as api.stream_events does (only finished transactions older than every running one), so none is ever skipped. Through a router, every shard''s wake-ups reach the router''s listeners (the position then holds one per shard). LP018 a malformed position.';
REVOKE ALL ON FUNCTION api.wake_stream_listeners(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.wake_stream_listeners(text) TO livepanty_service;
