DROP VIEW IF EXISTS monitoring.slow_statements CASCADE;
CREATE VIEW monitoring.slow_statements WITH (security_invoker = false) AS
SELECT s.queryid, s.calls, s.total_seconds, s.mean_seconds, s.max_seconds, s.rows, s.query
  FROM monitoring.list_statements(20) AS s;
COMMENT ON VIEW monitoring.slow_statements IS 'The 20 statements of this database with the highest mean execution time since pg_stat_statements was reset (empty when it is not installed in the database or not in shared_preload_libraries): normalised texts only (comments cut, every double-quoted identifier shown as "?"), a utility statement shows only its first word.';
GRANT SELECT ON monitoring.slow_statements TO livepanty_readonly;
