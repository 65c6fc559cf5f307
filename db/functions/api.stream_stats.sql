CREATE FUNCTION api.stream_stats(p_stream_id uuid)
RETURNS TABLE (current_viewers bigint, unique_viewers bigint, tip_count bigint, tokens_tipped bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT (SELECT count(*) FROM lp.stream_viewers AS v WHERE v.stream_id = p_stream_id AND v.left_at IS NULL),
           (SELECT count(DISTINCT v.user_id) FROM lp.stream_viewers AS v WHERE v.stream_id = p_stream_id),
           t.n, t.total
      FROM (SELECT count(*) AS n, coalesce(sum(t.amount), 0)::bigint AS total
              FROM lp.tips AS t WHERE t.stream_id = p_stream_id AND t.status = 'completed') AS t
     WHERE EXISTS (SELECT 1 FROM lp.streams AS s
                    WHERE s.id = p_stream_id AND s.deleted_at IS NULL
                      AND (s.visibility = 'public' OR s.host_id = api.current_user_id()
                           OR lp.current_user_role() IN ('moderator', 'admin')))
       AND api.current_user_id() IS NOT NULL
$$;
COMMENT ON FUNCTION api.stream_stats(uuid) IS 'Aggregate, non-identifying statistics of a stream the acting user may see (public, their own, or any for staff; nothing when nobody acts): viewers now, unique viewers, completed tips and tokens tipped. Individual tips stay private (RLS).';
REVOKE ALL ON FUNCTION api.stream_stats(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.stream_stats(uuid) TO livepanty_app, livepanty_service;
