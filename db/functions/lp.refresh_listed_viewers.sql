CREATE FUNCTION lp.refresh_listed_viewers() RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    -- Copies each live stream's viewer count (the sum of its counter rows) to lp.streams.listed_viewers, which
    -- the listings order by. SKIP LOCKED: a stream row held right now (a join's share lock, an update) is
    -- left for the next sweep, so this never waits and closes no lock cycle.
    WITH live AS (
        SELECT s.id FROM lp.streams AS s
         WHERE s.status = 'live' AND s.deleted_at IS NULL
         ORDER BY s.id
           FOR NO KEY UPDATE SKIP LOCKED
    ), counted AS (
        SELECT c.stream_id, greatest(sum(c.current_viewers), 0)::integer AS viewers
          FROM lp.stream_counters AS c
         WHERE c.stream_id IN (SELECT live.id FROM live)
         GROUP BY c.stream_id
    )
    , changed AS (
        UPDATE lp.streams AS s SET listed_viewers = counted.viewers
          FROM counted
         WHERE s.id = counted.stream_id AND s.listed_viewers <> counted.viewers
        RETURNING s.id, s.listed_viewers
    )
    -- The viewer count changed: an event for the stream's listeners (at most one per stream and sweep).
    SELECT count(lp.emit_event(c.id, 'viewer_count', jsonb_build_object('viewers', c.listed_viewers)))::integer
      INTO v_count
      FROM changed AS c;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION lp.refresh_listed_viewers() IS 'Copies each live stream''s current viewer count (its counter rows) to lp.streams.listed_viewers, the order of the listings; stream rows locked right now are skipped (the next sweep has them). Returns how many streams changed.';
REVOKE ALL ON FUNCTION lp.refresh_listed_viewers() FROM PUBLIC;
