CREATE FUNCTION api.stream_stats(p_stream_id uuid)
RETURNS TABLE (
    current_viewers bigint,
    unique_viewers  bigint,
    tip_count       bigint,
    tokens_tipped   bigint,
    peak_viewers    bigint,
    watch_seconds   bigint
)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- Viewer figures: while live from the counter rows (no count over the sessions), once ended from the final
    -- statistics. Tokens tipped are the host's earnings: the host and admins only (NULL for anyone else).
    SELECT CASE WHEN s.status = 'live' THEN coalesce(c.viewers, 0) ELSE 0 END,
           CASE WHEN s.status = 'live' THEN coalesce(c.uniq, 0) ELSE s.unique_viewers END,
           CASE WHEN s.status = 'live' THEN t.n ELSE s.tips_count::bigint END,
           CASE WHEN s.host_id = api.current_user_id() OR lp.current_user_role() IS NOT DISTINCT FROM 'admin'
                THEN CASE WHEN s.status = 'live' THEN t.total ELSE s.tips_tokens::bigint END END,
           CASE WHEN s.status = 'live' THEN coalesce(c.peak, 0) ELSE s.peak_viewers END,
           CASE WHEN s.status = 'live' THEN coalesce(c.seconds, 0) ELSE s.watch_seconds END
      FROM lp.streams AS s
     CROSS JOIN LATERAL (SELECT greatest(sum(k.current_viewers), 0)::bigint AS viewers, max(k.peak_seen)::bigint AS peak,
                                sum(k.unique_viewers)::bigint AS uniq, sum(k.watch_seconds)::bigint AS seconds
                           FROM lp.stream_counters AS k WHERE k.stream_id = s.id) AS c
     -- Tips are counted only while live; an ended stream's final statistics are stored on its row (lp.close_stream,
     -- and api.settle_tip_goals for tips paid out after the end), so reading them costs no scan of its tips.
     CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(sum(t.amount), 0)::bigint AS total
                           FROM lp.tips AS t
                          WHERE s.status = 'live' AND t.stream_id = s.id AND t.status = 'completed') AS t
     -- Who may see the stream (lp.stream_visible: public, or they host it or perform in it, or staff; a deleted
     -- one staff only) reads its statistics; anyone else, and nobody acting, gets no row.
     WHERE s.id = p_stream_id
       AND api.current_user_id() IS NOT NULL
       AND lp.stream_visible(s.id, api.current_user_id())
$$;
COMMENT ON FUNCTION api.stream_stats(uuid) IS 'Aggregate, non-identifying statistics of a stream the acting user may see (lp.stream_visible: public, or they host it or perform in it, or any for staff, a deleted one too; no row for anyone else, nor when nobody acts): viewers now (0 unless live), unique viewers, completed tips, tokens tipped (the host''s earnings: the host and admins only, NULL for anyone else), peak viewers, watch time in seconds (of closed sessions while live). While live the viewer figures come from the counter rows and the tips are counted, once ended everything comes from the final statistics stored on the stream row. Individual tips stay private (RLS).';
REVOKE ALL ON FUNCTION api.stream_stats(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.stream_stats(uuid) TO livepanty_app, livepanty_service;
