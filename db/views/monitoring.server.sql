DROP VIEW IF EXISTS monitoring.server CASCADE;
CREATE VIEW monitoring.server WITH (security_invoker = false) AS
SELECT s.version_num, s.started_at, extract(epoch FROM now() - s.started_at)::double precision AS uptime_seconds,
       s.in_recovery, s.replay_delay_seconds, s.max_connections, s.connections_used, s.statements_available
  FROM monitoring.server_status() AS s;
COMMENT ON VIEW monitoring.server IS 'One row about the server: version, start time and uptime, whether it is a replica and its replay delay in seconds (NULL on a primary), max_connections and client connections in use (every database), whether pg_stat_statements can be read (monitoring.slow_statements is empty otherwise).';
GRANT SELECT ON monitoring.server TO livepanty_readonly;
