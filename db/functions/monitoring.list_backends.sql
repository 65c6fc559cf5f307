CREATE FUNCTION monitoring.list_backends()
RETURNS TABLE (state text, transaction_seconds double precision, state_seconds double precision,
               waiting_on_lock boolean, xmin_age integer)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- Runs as the owner, a member of pg_read_all_stats, so every session's state is visible; what it returns
    -- names no session, login, address or query.
    SELECT coalesce(a.state, 'unknown'),
           extract(epoch FROM now() - a.xact_start)::double precision,
           extract(epoch FROM now() - a.state_change)::double precision,
           a.wait_event_type = 'Lock',
           age(a.backend_xmin)
      FROM pg_catalog.pg_stat_activity AS a
     WHERE a.datname = current_database() AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
$$;
COMMENT ON FUNCTION monitoring.list_backends() IS 'The client connections to this database but the caller''s: state, age of the open transaction and of the state (seconds), whether waiting on a lock, age of the snapshot''s xmin (transactions). No session id, login, address or query. Read through monitoring.connections and monitoring.oldest_transaction.';
REVOKE ALL ON FUNCTION monitoring.list_backends() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION monitoring.list_backends() TO livepanty_readonly;
