DROP VIEW IF EXISTS monitoring.replication CASCADE;
CREATE VIEW monitoring.replication WITH (security_invoker = false) AS
SELECT r.replica, r.state, r.sync_state, r.write_lag_seconds, r.flush_lag_seconds, r.replay_lag_seconds,
       r.replay_lag_bytes
  FROM monitoring.list_replicas() AS r;
COMMENT ON VIEW monitoring.replication IS 'One row per standby streaming from this server: its name (application_name), state, sync state, write, flush and replay lag in seconds and the replay lag in bytes of WAL. On a replica, monitoring.server.replay_delay_seconds tells its own delay.';
GRANT SELECT ON monitoring.replication TO livepanty_readonly;
