DROP VIEW IF EXISTS monitoring.wal CASCADE;
CREATE VIEW monitoring.wal WITH (security_invoker = false) AS
SELECT pg_wal_lsn_diff(c.lsn, '0/0') AS position_bytes,
       w.wal_records, w.wal_fpi, w.wal_bytes, w.stats_reset,
       l.taken_at AS sampled_at,
       extract(epoch FROM clock_timestamp() - l.taken_at)::double precision AS seconds_since_sample,
       (pg_wal_lsn_diff(c.lsn, l.wal_lsn)
        / nullif(extract(epoch FROM clock_timestamp() - l.taken_at), 0))::double precision AS bytes_per_second
  FROM (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END) AS c (lsn)
 CROSS JOIN pg_catalog.pg_stat_wal AS w
  LEFT JOIN LATERAL (SELECT m.taken_at, m.wal_lsn FROM lp.metric_samples AS m
                      ORDER BY m.taken_at DESC LIMIT 1) AS l ON true;
COMMENT ON VIEW monitoring.wal IS 'Write-ahead log: the current position in bytes (a counter: its rate is the WAL rate; on a replica the replayed position), WAL records, full-page images and bytes since pg_stat_wal was reset, and the rate in bytes per second since the latest sample (lp.metric_samples; NULL without one).';
GRANT SELECT ON monitoring.wal TO livepanty_readonly;
