-- 0037: pg_stat_statements in schema ext (issue 11, section 4).
-- pg_stat_statements, for the slow-statement report (monitoring.slow_statements): installed in schema ext like
-- every extension of the project, when the server has it (PostgreSQL's contrib modules, where citext and
-- pgcrypto come from) and the database has no copy of it yet (a DBA's copy in another schema is left where it
-- is and used there). It answers only on a server that preloads it (shared_preload_libraries, a restart; the
-- embedded cluster does); elsewhere monitoring.slow_statements is empty and nothing fails.
-- Its view and functions are executable by PUBLIC as the extension makes them, and the application roles may
-- use schema ext: in ext they are granted to pg_read_all_stats only (livepanty_owner is a member, as is
-- pg_monitor, so a DBA's monitoring login keeps reading it).
DO $pgss$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_stat_statements')
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pg_stat_statements') THEN
        CREATE EXTENSION pg_stat_statements WITH SCHEMA ext;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension
                WHERE extname = 'pg_stat_statements' AND extnamespace = 'ext'::regnamespace) THEN
        REVOKE ALL ON ext.pg_stat_statements, ext.pg_stat_statements_info FROM PUBLIC;
        REVOKE ALL ON FUNCTION ext.pg_stat_statements(boolean), ext.pg_stat_statements_info() FROM PUBLIC;
        GRANT SELECT ON ext.pg_stat_statements, ext.pg_stat_statements_info TO pg_read_all_stats;
        GRANT EXECUTE ON FUNCTION ext.pg_stat_statements(boolean), ext.pg_stat_statements_info()
            TO pg_read_all_stats;
    END IF;
END
$pgss$;
COMMENT ON SCHEMA ext IS 'Extensions used by livepanty (citext, pgcrypto; pg_stat_statements for the metrics).';
