DROP VIEW IF EXISTS monitoring.table_usage CASCADE;
CREATE VIEW monitoring.table_usage WITH (security_invoker = false) AS
SELECT s.relname::text AS table_name,
       s.seq_scan AS seq_scans,
       s.seq_tup_read AS seq_rows_read,
       coalesce(s.idx_scan, 0) AS index_scans,
       s.n_live_tup AS live_rows,
       s.n_dead_tup AS dead_rows,
       greatest(s.last_autovacuum, s.last_vacuum) AS last_vacuum,
       greatest(s.last_autoanalyze, s.last_analyze) AS last_analyze
  FROM pg_catalog.pg_stat_user_tables AS s
 WHERE s.schemaname IN ('lp', 'lp_partitions');
COMMENT ON VIEW monitoring.table_usage IS 'Every lp table (each partition''s own: the monthly partitions of lp.ledger and lp.audit_logs in schema lp_partitions are named by their own table name, e.g. ledger_2026_12): sequential scans and the rows they read, index scans, live and dead rows (estimates), last vacuum and analyze (manual or automatic). A big table with many sequential scans misses an index.';
GRANT SELECT ON monitoring.table_usage TO livepanty_readonly;
