CREATE FUNCTION monitoring.server_status()
RETURNS TABLE (version_num integer, started_at timestamptz, in_recovery boolean,
               replay_delay_seconds double precision, max_connections integer, connections_used integer,
               statements_available boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT current_setting('server_version_num')::integer,
           pg_postmaster_start_time(),
           pg_is_in_recovery(),
           CASE WHEN pg_is_in_recovery()
                THEN coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::double precision
           END,
           current_setting('max_connections')::integer,
           (SELECT count(*)::integer FROM pg_catalog.pg_stat_activity AS a WHERE a.backend_type = 'client backend'),
           monitoring.statements_schema() IS NOT NULL
$$;
COMMENT ON FUNCTION monitoring.server_status() IS 'One row about the server: version, start time, whether it is a replica and, if so, how far behind its replay is (seconds since the last replayed transaction committed on the primary), max_connections and client connections in use over every database, and whether pg_stat_statements can be read. Read through monitoring.server.';
REVOKE ALL ON FUNCTION monitoring.server_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION monitoring.server_status() TO livepanty_readonly;
