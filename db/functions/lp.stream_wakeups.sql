CREATE FUNCTION lp.stream_wakeups(p_after text)
RETURNS TABLE (next_position text, channel text, event_id bigint)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_tx     xid8;
    v_id     bigint;
    v_new_tx xid8;
    v_new_id bigint;
BEGIN
    -- The notifier's reading (events.wake_up "notifier"; api.wake_stream_listeners on one node, the router's
    -- for every shard): the wake-ups due after p_after, one per stream with events after it, whatever their
    -- number, each naming the stream's LISTEN channel and its newest event, every row carrying the position to
    -- go on from; one row without a channel when nobody is due. The same reading rule as api.stream_events
    -- (only events of transactions older than every running one), so no event is ever left behind the position.
    IF p_after IS NULL THEN
        -- From now: the newest finished position, nobody woken.
        RETURN QUERY
        SELECT coalesce((SELECT e.tx::text || '/' || e.id::text
                           FROM lp.stream_events AS e
                          WHERE e.tx < pg_snapshot_xmin(pg_current_snapshot())
                          ORDER BY e.tx DESC, e.id DESC
                          LIMIT 1), '0/0'), NULL::text, NULL::bigint;
        RETURN;
    END IF;
    SELECT p.tx, p.id INTO v_tx, v_id FROM lp.event_position(p_after) AS p;  -- LP018 when malformed
    -- The newest finished position first; then one wake-up per stream with events up to it.
    SELECT e.tx, e.id INTO v_new_tx, v_new_id
      FROM lp.stream_events AS e
     WHERE (e.tx, e.id) > (v_tx, v_id) AND e.tx < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY e.tx DESC, e.id DESC
     LIMIT 1;
    IF v_new_tx IS NULL THEN
        RETURN QUERY SELECT p_after, NULL::text, NULL::bigint;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT v_new_tx::text || '/' || v_new_id::text, lp.event_channel(n.stream_id), n.id
      FROM (SELECT e.stream_id, max(e.id) AS id FROM lp.stream_events AS e
             WHERE (e.tx, e.id) > (v_tx, v_id) AND (e.tx, e.id) <= (v_new_tx, v_new_id)
             GROUP BY e.stream_id) AS n;
END
$$;
COMMENT ON FUNCTION lp.stream_wakeups(text) IS 'Owner-only, the notifier''s reading: one row per stream with events after the position p_after (its LISTEN channel, lp.event_channel, and its newest event id), each with the position to go on from; one row with no channel when no event is due (p_after NULL: the newest position, nobody due). Reads events as api.stream_events does (finished transactions older than every running one), so none is skipped. LP018 a malformed position.';
REVOKE ALL ON FUNCTION lp.stream_wakeups(text) FROM PUBLIC;
