DROP VIEW IF EXISTS monitoring.ledger_verification CASCADE;
CREATE VIEW monitoring.ledger_verification WITH (security_invoker = false) AS
SELECT (SELECT count(*) FROM lp.verify_runs)::bigint AS runs,
       r.started_at, r.finished_at,
       extract(epoch FROM now() - r.finished_at)::double precision AS seconds_since,
       extract(epoch FROM r.finished_at - r.started_at)::double precision AS duration_seconds,
       r.entries, r.violations, r.violations = 0 AS ok, array_to_string(r.checks, ',') AS failed_checks
  FROM (VALUES (1)) AS one (n)
  LEFT JOIN LATERAL (SELECT v.* FROM lp.verify_runs AS v ORDER BY v.finished_at DESC, v.id DESC LIMIT 1) AS r
    ON true;
COMMENT ON VIEW monitoring.ledger_verification IS 'One row: how many ledger verifications were recorded (api.record_verify_run, by livepanty-db verify) and the latest one: when it started and finished, seconds since, duration, entries checked, violations found, ok (NULL when none was recorded), the names of the checks that failed.';
GRANT SELECT ON monitoring.ledger_verification TO livepanty_readonly;
