CREATE FUNCTION api.purge_stream_events(p_limit integer DEFAULT 10000) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 1000000';
    END IF;
    -- The oldest events past events.retention_days, and per stream the newest position deleted: a reader
    -- behind it gets LP125 from api.stream_events instead of a silent gap.
    WITH gone AS (
        DELETE FROM lp.stream_events AS e
         WHERE e.id IN (SELECT o.id FROM lp.stream_events AS o
                         WHERE o.created_at < now() - make_interval(days => (lp.setting('events.retention_days'))::integer)
                         ORDER BY o.tx, o.id  -- the reading order: what stays is never behind a horizon
                         LIMIT p_limit
                           FOR UPDATE SKIP LOCKED)
        RETURNING e.stream_id, e.tx, e.id
    ), newest AS (
        SELECT DISTINCT ON (g.stream_id) g.stream_id, g.tx, g.id FROM gone AS g
         ORDER BY g.stream_id, g.tx DESC, g.id DESC
    ), horizon AS (
        INSERT INTO lp.stream_event_horizons AS h (stream_id, tx, id)
        SELECT n.stream_id, n.tx, n.id FROM newest AS n
        ON CONFLICT (stream_id) DO UPDATE
           SET tx = EXCLUDED.tx, id = EXCLUDED.id
         WHERE (EXCLUDED.tx, EXCLUDED.id) > (h.tx, h.id)
    )
    SELECT count(*)::integer INTO v_count FROM gone;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION api.purge_stream_events(integer) IS 'Back office job (livepanty-db jobs purge-events): deletes up to p_limit stream events older than events.retention_days (in reading order; rows locked right now skipped) and moves each stream''s purge horizon, so that api.stream_events tells a reader behind it to resync (LP125). Returns how many it deleted. LP018 p_limit outside 1..1000000.';
REVOKE ALL ON FUNCTION api.purge_stream_events(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.purge_stream_events(integer) TO livepanty_service;
