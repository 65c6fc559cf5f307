DROP VIEW IF EXISTS monitoring.index_usage CASCADE;
CREATE VIEW monitoring.index_usage WITH (security_invoker = false) AS
SELECT s.relname::text AS table_name,
       s.indexrelname::text AS index_name,
       s.idx_scan AS scans,
       s.idx_tup_read AS tuples_read,
       pg_relation_size(s.indexrelid) AS size_bytes,
       i.indisunique AS is_unique,
       (s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary) AS unused
  FROM pg_catalog.pg_stat_user_indexes AS s
  JOIN pg_catalog.pg_index AS i ON i.indexrelid = s.indexrelid
 WHERE s.schemaname IN ('lp', 'lp_partitions');
COMMENT ON VIEW monitoring.index_usage IS 'Every index of an lp table (each partition''s own: the monthly partitions of lp.ledger and lp.audit_logs in schema lp_partitions are named by their own table name, e.g. ledger_2026_12): scans and index entries read since the statistics were reset, size in bytes, and unused: never scanned and not enforcing uniqueness (a candidate to drop once the statistics cover a representative period).';
GRANT SELECT ON monitoring.index_usage TO livepanty_readonly;
