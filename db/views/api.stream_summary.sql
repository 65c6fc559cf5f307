DROP VIEW IF EXISTS api.stream_summary CASCADE;
CREATE VIEW api.stream_summary WITH (security_invoker = true) AS
SELECT s.id,
       s.host_id,
       h.username                                   AS host_username,
       h.display_name                               AS host_display_name,
       s.title,
       s.category,
       s.tags,
       s.status,
       s.visibility,
       s.is_mature,
       s.scheduled_at,
       s.started_at,
       s.ended_at,
       coalesce(s.ended_at, now()) - s.started_at   AS duration,
       st.current_viewers,
       st.unique_viewers,
       st.peak_viewers,
       st.watch_seconds,
       st.tip_count,
       st.tokens_tipped,
       s.deleted_at
  FROM lp.streams AS s
  LEFT JOIN LATERAL api.public_profile(s.host_id) AS h ON true
  LEFT JOIN LATERAL api.stream_stats(s.id) AS st ON true;
COMMENT ON VIEW api.stream_summary IS 'Streams with host, duration, viewer figures (now, unique, peak, watch time: api.stream_stats) and tip totals (tokens tipped: the host and admins only), and deleted_at. security_invoker: rows follow the streams policies (public streams for everyone signed in, own streams for hosts, the streams they are on camera in for co-performers, all for staff, a deleted stream to staff only, as every one-stream read answers them: lp.stream_visible; filter on deleted_at IS NULL to leave deleted streams out).';
GRANT SELECT ON api.stream_summary TO livepanty_app, livepanty_service;
