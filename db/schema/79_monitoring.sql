-- Monitoring (issue 11, section 4): schema monitoring, whose views (db/views/monitoring.*.sql) livepanty_readonly
-- reads; the samples rates and growth are computed from; the recorded ledger verifications.
-- The views (db/views/monitoring.*.sql) run as the owner; the server's statistics of other sessions
-- (pg_stat_activity's states, pg_stat_replication, pg_stat_statements) are visible to it only with this
-- predefined role. The views show aggregates and sanitised statement texts, never another session's query.
GRANT pg_read_all_stats TO livepanty_owner;
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
CREATE SCHEMA monitoring AUTHORIZATION livepanty_owner;
COMMENT ON SCHEMA monitoring IS 'Server and business metrics for operators (livepanty-db metrics, postgres_exporter): definer views readable by livepanty_readonly; no query text of another session, no id of a person.';

SET ROLE livepanty_owner;
GRANT USAGE ON SCHEMA monitoring TO livepanty_readonly;

CREATE TABLE lp.metric_samples (
    taken_at       timestamptz PRIMARY KEY DEFAULT clock_timestamp(),
    wal_lsn        pg_lsn NOT NULL,
    database_bytes bigint NOT NULL CHECK (database_bytes >= 0),
    table_bytes    jsonb NOT NULL CHECK (jsonb_typeof(table_bytes) = 'object')
);
COMMENT ON TABLE lp.metric_samples IS 'Samples of counters that the server does not keep over time (the WAL position, database and table sizes), written by api.record_metrics_sample (livepanty-db metrics, or a scheduled job): the monitoring views compute rates and growth since the latest one. Kept 7 days.';
COMMENT ON COLUMN lp.metric_samples.wal_lsn IS 'pg_current_wal_lsn() (on a replica: the last replayed position) when the sample was taken.';
COMMENT ON COLUMN lp.metric_samples.table_bytes IS 'Total size in bytes (indexes and TOAST included, partitions summed into their parent) of each lp table, by name.';
ALTER TABLE lp.metric_samples ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.metric_samples FORCE ROW LEVEL SECURITY;

CREATE TABLE lp.verify_runs (
    id          uuid PRIMARY KEY DEFAULT lp.uuid_v7(),
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    entries     bigint NOT NULL CHECK (entries >= 0),
    violations  integer NOT NULL CHECK (violations >= 0),
    checks      text[] NOT NULL DEFAULT '{}',
    login       text NOT NULL DEFAULT session_user,
    CHECK (started_at <= finished_at)
);
COMMENT ON TABLE lp.verify_runs IS 'The outcome of each full ledger verification (livepanty-db verify), recorded by api.record_verify_run after its snapshot was checked; monitoring.ledger_verification shows the latest. Append-only by practice: written only through that function.';
COMMENT ON COLUMN lp.verify_runs.entries IS 'Ledger entries the run checked.';
COMMENT ON COLUMN lp.verify_runs.violations IS 'Violations found (0: the ledger was sound on the run''s snapshot).';
COMMENT ON COLUMN lp.verify_runs.checks IS 'The names of the checks that found violations (api.verify_ledger''s check_name), sorted, without repeats.';
COMMENT ON COLUMN lp.verify_runs.login IS 'The database login that ran the verification.';
CREATE INDEX verify_runs_finished_idx ON lp.verify_runs (finished_at DESC);
ALTER TABLE lp.verify_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.verify_runs FORCE ROW LEVEL SECURITY;

-- Purchases and payouts per minute and their latency read the recent completions by these.
CREATE INDEX payments_completed_at_idx ON lp.payments (completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX payouts_paid_at_idx ON lp.payouts (paid_at) WHERE paid_at IS NOT NULL;

RESET ROLE;
