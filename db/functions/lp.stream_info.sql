CREATE FUNCTION lp.stream_info(p_stream lp.streams) RETURNS api.stream
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT ROW(p_stream.id, p_stream.host_id, p_stream.title, p_stream.description, p_stream.category,
               p_stream.tags, p_stream.status::text, p_stream.visibility::text, p_stream.is_mature,
               p_stream.thumbnail_url, p_stream.scheduled_at, p_stream.started_at, p_stream.ended_at,
               p_stream.end_reason, p_stream.peak_viewers, p_stream.unique_viewers, p_stream.watch_seconds,
               p_stream.tips_count, p_stream.tips_tokens,
               ARRAY(SELECT sp.performer_id FROM lp.stream_performers AS sp
                      WHERE sp.stream_id = p_stream.id ORDER BY sp.added_at, sp.performer_id),
               p_stream.created_at, p_stream.updated_at)::api.stream
$$;
COMMENT ON FUNCTION lp.stream_info(lp.streams) IS 'A stream as the API returns it (api.stream): without its ingest key hash, with its co-performers.';
REVOKE ALL ON FUNCTION lp.stream_info(lp.streams) FROM PUBLIC;
