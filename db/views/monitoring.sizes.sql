DROP VIEW IF EXISTS monitoring.sizes CASCADE;
CREATE VIEW monitoring.sizes WITH (security_invoker = false) AS
WITH latest AS (SELECT m.taken_at, m.database_bytes, m.table_bytes
                  FROM lp.metric_samples AS m ORDER BY m.taken_at DESC LIMIT 1)
SELECT 'database'::text AS kind, current_database()::text AS name, d.bytes,
       l.database_bytes AS sampled_bytes, l.taken_at AS sampled_at, d.bytes - l.database_bytes AS growth_bytes
  FROM (SELECT pg_database_size(current_database()) AS bytes) AS d
  LEFT JOIN latest AS l ON true
UNION ALL
SELECT 'table', t.table_name, t.bytes, (l.table_bytes ->> t.table_name)::bigint, l.taken_at,
       t.bytes - (l.table_bytes ->> t.table_name)::bigint
  FROM monitoring.relation_sizes AS t
  LEFT JOIN latest AS l ON true;
COMMENT ON VIEW monitoring.sizes IS 'The database''s size and every lp table''s (monitoring.relation_sizes) in bytes, with the size at the latest sample (lp.metric_samples, api.record_metrics_sample), its time and the growth since (NULL without a sample).';
GRANT SELECT ON monitoring.sizes TO livepanty_readonly;
