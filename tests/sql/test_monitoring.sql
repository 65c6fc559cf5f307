-- Schema monitoring (issue 11, section 4): who may read its views and call its functions (every view, every
-- function, so those added later too), the recorded ledger verifications (api.record_verify_run: what it
-- refuses, and that a refusal records nothing), the samples (api.record_metrics_sample) the growth is
-- computed from, and pg_stat_statements: read where preloaded (the test cluster preloads it, like every embedded
-- cluster; migration 0037 installs it in ext, readable by pg_read_all_stats only), an empty view without it.
BEGIN;
SELECT plan(26);

-- == Privileges: every view and function of schema monitoring ===========================================
SELECT isnt_empty($$SELECT 1 FROM pg_catalog.pg_class WHERE relnamespace = 'monitoring'::regnamespace AND relkind = 'v'$$,
                  'schema monitoring has views (the checks below are not vacuous)');
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_catalog.pg_class AS c
     WHERE c.relnamespace = 'monitoring'::regnamespace AND c.relkind = 'v'
       AND NOT has_table_privilege('livepanty_readonly', c.oid, 'SELECT')
$$, 'livepanty_readonly reads every monitoring view');
SELECT is_empty($$
    SELECT c.oid::regclass::text || ' readable by ' || r.rolname
      FROM pg_catalog.pg_class AS c
     CROSS JOIN (VALUES ('livepanty_app'), ('livepanty_service'), ('livepanty_mailer')) AS r (rolname)
     WHERE c.relnamespace = 'monitoring'::regnamespace AND c.relkind IN ('r', 'v', 'm')
       AND has_table_privilege(r.rolname, c.oid, 'SELECT')
$$, 'the application, service and mailer roles read no monitoring view');
SELECT ok(NOT has_schema_privilege('livepanty_app', 'monitoring', 'USAGE')
          AND NOT has_schema_privilege('livepanty_service', 'monitoring', 'USAGE'),
          'the application and service roles may not even look into schema monitoring');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text || ' executable by ' || r.rolname
      FROM pg_catalog.pg_proc AS p
     CROSS JOIN (VALUES ('livepanty_app'), ('livepanty_service'), ('livepanty_mailer')) AS r (rolname)
     WHERE p.pronamespace = 'monitoring'::regnamespace AND has_function_privilege(r.rolname, p.oid, 'EXECUTE')
$$, 'no monitoring function is executable by the application, service or mailer roles');
SELECT ok(NOT has_function_privilege('livepanty_readonly', 'monitoring.statements_schema()', 'EXECUTE'),
          'monitoring.statements_schema is an owner-only helper');
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_catalog.pg_class AS c
     WHERE c.oid IN ('lp.metric_samples'::regclass, 'lp.verify_runs'::regclass)
       AND (has_table_privilege('livepanty_readonly', c.oid, 'SELECT')
            OR has_table_privilege('livepanty_app', c.oid, 'SELECT')
            OR has_table_privilege('livepanty_service', c.oid, 'SELECT,INSERT,UPDATE,DELETE'))
$$, 'lp.metric_samples and lp.verify_runs: no role but the owner (written through api functions only)');

-- == pg_stat_statements =================================================================================
SELECT is((SELECT n.nspname::text FROM pg_catalog.pg_extension AS e
             JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'),
          'ext', 'pg_stat_statements is installed in schema ext');
SELECT is_empty($$
    SELECT r.rolname || ' ' || o.what FROM (VALUES ('livepanty_app'), ('livepanty_service'), ('livepanty_mailer'),
                                                   ('livepanty_readonly')) AS r (rolname)
     CROSS JOIN LATERAL (VALUES
         ('reads ext.pg_stat_statements', has_table_privilege(r.rolname, 'ext.pg_stat_statements', 'SELECT')),
         ('reads ext.pg_stat_statements_info', has_table_privilege(r.rolname, 'ext.pg_stat_statements_info', 'SELECT')),
         ('runs ext.pg_stat_statements()', has_function_privilege(r.rolname, 'ext.pg_stat_statements(boolean)', 'EXECUTE')),
         ('runs ext.pg_stat_statements_reset()', has_function_privilege(r.rolname, 'ext.pg_stat_statements_reset(oid, oid, bigint)', 'EXECUTE'))
     ) AS o (what, allowed)
     WHERE o.allowed
$$, 'no application or reporting role reads pg_stat_statements directly (other sessions'' statistics)');
SELECT ok(has_table_privilege('pg_read_all_stats', 'ext.pg_stat_statements', 'SELECT')
          AND has_table_privilege('livepanty_owner', 'ext.pg_stat_statements', 'SELECT'),
          'pg_read_all_stats (so pg_monitor and livepanty_owner) reads it');
SELECT pg_sleep(0.2);  -- the slowest statement of this database so far
SELECT tests.put('preloaded', 'pg_stat_statements' = ANY (string_to_array(
           replace(current_setting('shared_preload_libraries'), ' ', ''), ',')));
SET LOCAL ROLE livepanty_readonly;
-- The harness's cluster preloads it (tests/py/test_local.py checks the embedded cluster's settings); a server
-- of LIVEPANTY_TEST_DSN may not, and then the view must be empty instead.
SELECT is((SELECT statements_available FROM monitoring.server),
          (SELECT (value #>> '{}')::boolean FROM tests.ctx WHERE key = 'preloaded'),
          'pg_stat_statements is available exactly when the server preloads it (the test cluster does)');
SELECT is((SELECT count(*) > 0 FROM monitoring.slow_statements WHERE query LIKE '%pg_sleep%'),
          (SELECT statements_available FROM monitoring.server),
          'monitoring.slow_statements lists the statements run in this database when available');
RESET ROLE;
DROP EXTENSION pg_stat_statements;  -- (rolled back with the rest)
SET LOCAL ROLE livepanty_readonly;
SELECT is((SELECT statements_available FROM monitoring.server), false,
          'without the extension: not available');
SELECT is_empty($$SELECT * FROM monitoring.slow_statements$$, 'and monitoring.slow_statements is empty, not an error');
SELECT is((SELECT count(*)::integer FROM monitoring.connections), 7, 'monitoring.connections lists every state');
SELECT is((SELECT runs FROM monitoring.ledger_verification), 0::bigint, 'no verification recorded yet: runs 0');
SELECT is((SELECT ok FROM monitoring.ledger_verification), NULL, '... and ok is NULL (not true)');
RESET ROLE;

-- == api.record_verify_run ===============================================================================
SET LOCAL ROLE livepanty_service;
SELECT throws_ok($$SELECT api.record_verify_run(now() + interval '1 minute', 1, 0)$$, 'LP018', NULL,
                 'a verification that starts in the future is refused');
SELECT throws_ok($$SELECT api.record_verify_run(now() - interval '8 days', 1, 0)$$, 'LP018', NULL,
                 'one that started more than 7 days ago is refused');
SELECT throws_ok($$SELECT api.record_verify_run(now(), 1, -1)$$, 'LP018', NULL, 'a negative count is refused');
SELECT throws_ok($$SELECT api.record_verify_run(now(), 1, 2, NULL)$$, 'LP018', NULL, 'NULL checks are refused');
SELECT lives_ok($$SELECT api.record_verify_run(now() - interval '3 seconds', 42, 2,
                                               ARRAY['chain_broken', 'balance_mismatch', 'chain_broken'])$$,
                'a well-formed outcome is recorded');
RESET ROLE;
SELECT results_eq(
    $$SELECT runs, entries, violations, ok, failed_checks, duration_seconds >= 3 FROM monitoring.ledger_verification$$,
    $$VALUES (1::bigint, 42::bigint, 2, false, 'balance_mismatch,chain_broken', true)$$,
    'only the well-formed outcome was recorded; the view shows it, checks sorted without repeats');

-- == api.record_metrics_sample ===========================================================================
SET LOCAL ROLE livepanty_service;
SELECT tests.put('sample', to_jsonb(api.record_metrics_sample()));
RESET ROLE;
SELECT is((SELECT max(sampled_at) FROM monitoring.sizes),
          (SELECT (value #>> '{}')::timestamptz FROM tests.ctx WHERE key = 'sample'),
          'monitoring.sizes compares with the sample just taken');
SELECT is((SELECT count(*)::integer FROM monitoring.sizes WHERE kind = 'table' AND sampled_bytes IS NULL), 0,
          'every lp table has a size in the sample');
SELECT ok((SELECT bytes_per_second IS NOT NULL AND sampled_at IS NOT NULL FROM monitoring.wal),
          'monitoring.wal has a rate once a sample exists');

SELECT * FROM finish();
ROLLBACK;
