CREATE FUNCTION lp.count_viewers(
    p_stream_id uuid,
    p_current   integer,
    p_joins     integer DEFAULT 0,
    p_unique    integer DEFAULT 0,
    p_guests    integer DEFAULT 0,
    p_seconds   bigint DEFAULT 0
) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_shard   smallint;
    v_viewers integer;
BEGIN
    -- The one writer of lp.stream_counters. A counter row nobody holds (the pick and the write in one
    -- statement, as lp.post credits wallet shards); only when every row is busy, queue behind a random one.
    -- Counter rows are locked last in every transaction that takes one (after the viewer's own session row),
    -- and one at a time, so no lock cycle runs through them.
    WITH free AS MATERIALIZED (
        SELECT c.shard FROM lp.stream_counters AS c
         WHERE c.stream_id = p_stream_id
         ORDER BY c.shard
         LIMIT 1
           FOR NO KEY UPDATE SKIP LOCKED
    )
    UPDATE lp.stream_counters AS c
       SET current_viewers = c.current_viewers + p_current, joins = c.joins + p_joins,
           unique_viewers = c.unique_viewers + p_unique, guest_joins = c.guest_joins + p_guests,
           watch_seconds = c.watch_seconds + p_seconds
      FROM free
     WHERE c.stream_id = p_stream_id AND c.shard = free.shard
    RETURNING c.shard INTO v_shard;
    IF v_shard IS NULL THEN
        SELECT c.shard INTO v_shard FROM lp.stream_counters AS c
         WHERE c.stream_id = p_stream_id ORDER BY random() LIMIT 1;
        IF v_shard IS NULL THEN
            RETURN NULL;  -- a stream that never went live has no counters
        END IF;
        UPDATE lp.stream_counters AS c
           SET current_viewers = c.current_viewers + p_current, joins = c.joins + p_joins,
               unique_viewers = c.unique_viewers + p_unique, guest_joins = c.guest_joins + p_guests,
               watch_seconds = c.watch_seconds + p_seconds
         WHERE c.stream_id = p_stream_id AND c.shard = v_shard;
    END IF;
    SELECT greatest(sum(c.current_viewers), 0)::integer INTO v_viewers
      FROM lp.stream_counters AS c WHERE c.stream_id = p_stream_id;
    IF p_current > 0 THEN
        -- The peak: the largest count seen at a join, kept on the row this join holds anyway.
        UPDATE lp.stream_counters AS c SET peak_seen = greatest(c.peak_seen, v_viewers)
         WHERE c.stream_id = p_stream_id AND c.shard = v_shard AND c.peak_seen < v_viewers;
    END IF;
    RETURN v_viewers;
END
$$;
COMMENT ON FUNCTION lp.count_viewers(uuid, integer, integer, integer, integer, bigint) IS 'The one writer of a live stream''s viewer counters: adds to one free counter row (current viewers, joins, first-time viewers, guest joins, watch seconds of closed sessions), records the peak at a join, and returns the current viewer count (the sum over the rows, never below 0). NULL for a stream without counters (never live).';
REVOKE ALL ON FUNCTION lp.count_viewers(uuid, integer, integer, integer, integer, bigint) FROM PUBLIC;
