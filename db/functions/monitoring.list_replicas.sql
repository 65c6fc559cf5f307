CREATE FUNCTION monitoring.list_replicas()
RETURNS TABLE (replica text, state text, sync_state text, write_lag_seconds double precision,
               flush_lag_seconds double precision, replay_lag_seconds double precision, replay_lag_bytes numeric)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- Runs as the owner (pg_read_all_stats): every standby's progress; no address.
    SELECT coalesce(nullif(r.application_name, ''), 'pid ' || r.pid),
           r.state, r.sync_state,
           coalesce(extract(epoch FROM r.write_lag), 0)::double precision,
           coalesce(extract(epoch FROM r.flush_lag), 0)::double precision,
           coalesce(extract(epoch FROM r.replay_lag), 0)::double precision,
           CASE WHEN pg_is_in_recovery() THEN NULL
                ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn) END
      FROM pg_catalog.pg_stat_replication AS r
$$;
COMMENT ON FUNCTION monitoring.list_replicas() IS 'The standbys streaming from this server (pg_stat_replication): name (application_name), state, sync state, write, flush and replay lag in seconds (0 when idle), and how many bytes of WAL the replay is behind. Read through monitoring.replication.';
REVOKE ALL ON FUNCTION monitoring.list_replicas() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION monitoring.list_replicas() TO livepanty_readonly;
