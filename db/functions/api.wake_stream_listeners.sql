CREATE FUNCTION api.wake_stream_listeners(p_after text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_tx       xid8;
    v_id       bigint;
    v_position text;
    v_new_tx   xid8;
    v_new_id   bigint;
BEGIN
    -- The notifier (events.wake_up "notifier"): one wake-up per stream that has events after p_after (the
    -- position this function returned last time; NULL: from now), whatever their number: one NOTIFY per stream
    -- and call instead of one per tip. The same reading rule as api.stream_events (only events of transactions
    -- older than every running one), so no event is ever left behind the returned position.
    IF p_after IS NOT NULL THEN
        SELECT p.tx, p.id INTO v_tx, v_id FROM lp.event_position(p_after) AS p;  -- LP018 when malformed
    ELSE
        -- From now: the newest finished position.
        SELECT e.tx::text || '/' || e.id::text INTO v_position
          FROM lp.stream_events AS e
         WHERE e.tx < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY e.tx DESC, e.id DESC
         LIMIT 1;
        RETURN coalesce(v_position, '0/0');
    END IF;
    -- The newest finished position first; then one wake-up per stream with events up to it.
    SELECT e.tx, e.id INTO v_new_tx, v_new_id
      FROM lp.stream_events AS e
     WHERE (e.tx, e.id) > (v_tx, v_id) AND e.tx < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY e.tx DESC, e.id DESC
     LIMIT 1;
    IF v_new_tx IS NULL THEN
        RETURN p_after;
    END IF;
    PERFORM pg_notify(lp.event_channel(n.stream_id), n.id::text)
       FROM (SELECT e.stream_id, max(e.id) AS id FROM lp.stream_events AS e
              WHERE (e.tx, e.id) > (v_tx, v_id) AND (e.tx, e.id) <= (v_new_tx, v_new_id)
              GROUP BY e.stream_id) AS n;
    RETURN v_new_tx::text || '/' || v_new_id::text;
END
$$;
COMMENT ON FUNCTION api.wake_stream_listeners(text) IS 'Back office, the notifier of events.wake_up "notifier" (livepanty-db jobs wake-listeners runs it in a loop): sends one wake-up per stream that has events after p_after (a position this function returned; NULL: returns the newest position and wakes nobody), and returns the new position to pass next time. Reads events as api.stream_events does (only finished transactions older than every running one), so none is ever skipped. LP018 a malformed position.';
REVOKE ALL ON FUNCTION api.wake_stream_listeners(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.wake_stream_listeners(text) TO livepanty_service;
