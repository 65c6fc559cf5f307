DROP VIEW IF EXISTS monitoring.oldest_transaction CASCADE;
CREATE VIEW monitoring.oldest_transaction WITH (security_invoker = false) AS
SELECT coalesce((SELECT max(b.transaction_seconds) FROM monitoring.list_backends() AS b), 0) AS seconds,
       coalesce((SELECT max(b.xmin_age) FROM monitoring.list_backends() AS b), 0) AS xmin_age,
       (SELECT count(*)::integer FROM pg_catalog.pg_prepared_xacts AS p WHERE p.database = current_database())
           AS prepared_transactions,
       coalesce((SELECT max(extract(epoch FROM now() - p.prepared))::double precision
                   FROM pg_catalog.pg_prepared_xacts AS p WHERE p.database = current_database()), 0)
           AS oldest_prepared_seconds;
COMMENT ON VIEW monitoring.oldest_transaction IS 'One row: the age in seconds of the oldest open transaction in this database (the reader''s own left out; 0 when none), the age in transactions of the oldest snapshot held (what holds vacuum back), and the prepared transactions (two-phase commit) waiting and the age of the oldest.';
GRANT SELECT ON monitoring.oldest_transaction TO livepanty_readonly;
