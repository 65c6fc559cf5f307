CREATE FUNCTION lp.stream_info(p_stream lp.streams) RETURNS api.stream
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- While live, the viewer figures come from the counter rows (closed sessions' watch time, the peak seen at
    -- joins, first-time viewers); once ended, from the final statistics api.end_stream wrote.
    SELECT ROW(p_stream.id, p_stream.host_id, p_stream.title, p_stream.description, p_stream.category,
               p_stream.tags, p_stream.status::text, p_stream.visibility::text, p_stream.is_mature,
               p_stream.thumbnail_url, p_stream.scheduled_at, p_stream.started_at, p_stream.ended_at,
               p_stream.end_reason,
               CASE WHEN p_stream.status = 'live' THEN coalesce(c.peak, 0) ELSE p_stream.peak_viewers END,
               CASE WHEN p_stream.status = 'live' THEN coalesce(c.uniq, 0) ELSE p_stream.unique_viewers END,
               CASE WHEN p_stream.status = 'live' THEN coalesce(c.seconds, 0) ELSE p_stream.watch_seconds END,
               p_stream.tips_count,
               -- The host's earnings: the host and admins only (as api.stream_stats).
               CASE WHEN p_stream.host_id = api.current_user_id() OR lp.current_user_role() IS NOT DISTINCT FROM 'admin'
                    THEN p_stream.tips_tokens END,
               ARRAY(SELECT sp.performer_id FROM lp.stream_performers AS sp
                      WHERE sp.stream_id = p_stream.id ORDER BY sp.added_at, sp.performer_id),
               p_stream.created_at, p_stream.updated_at,
               CASE WHEN p_stream.status = 'live' THEN coalesce(c.viewers, 0) ELSE 0 END)::api.stream
      FROM (SELECT greatest(sum(k.current_viewers), 0)::integer AS viewers, max(k.peak_seen) AS peak,
                   sum(k.unique_viewers)::integer AS uniq, sum(k.watch_seconds)::bigint AS seconds
              FROM lp.stream_counters AS k WHERE k.stream_id = p_stream.id) AS c
$$;
COMMENT ON FUNCTION lp.stream_info(lp.streams) IS 'A stream as the API returns it (api.stream): without its ingest key hash, with its co-performers; tips_tokens (the host''s earnings) for the host and admins only, NULL for anyone else; while live, the viewer figures from the counter rows.';
REVOKE ALL ON FUNCTION lp.stream_info(lp.streams) FROM PUBLIC;
