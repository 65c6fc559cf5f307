DROP VIEW IF EXISTS monitoring.partitions CASCADE;
CREATE VIEW monitoring.partitions WITH (security_invoker = false) AS
SELECT p.relname::text AS table_name,
       (count(c.oid) FILTER (WHERE NOT c.relpartbound_is_default))::integer AS partitions,
       max(c.upper_bound) AS covered_until,
       extract(epoch FROM max(c.upper_bound) - now())::double precision AS seconds_ahead,
       coalesce(sum(s.n_live_tup) FILTER (WHERE c.relpartbound_is_default), 0)::bigint AS default_rows
  FROM pg_catalog.pg_class AS p
  JOIN pg_catalog.pg_inherits AS i ON i.inhparent = p.oid
 CROSS JOIN LATERAL (
        SELECT k.oid,
               pg_get_expr(k.relpartbound, k.oid) = 'DEFAULT' AS relpartbound_is_default,
               substring(pg_get_expr(k.relpartbound, k.oid) FROM $re$ TO \('([^']+)'\)$re$)::timestamptz AS upper_bound
          FROM pg_catalog.pg_class AS k WHERE k.oid = i.inhrelid) AS c
  LEFT JOIN pg_catalog.pg_stat_user_tables AS s ON s.relid = c.oid
 WHERE p.relnamespace = 'lp'::regnamespace AND p.relkind = 'p'
 GROUP BY p.relname;
COMMENT ON VIEW monitoring.partitions IS 'Every partitioned lp table (lp.ledger, lp.audit_logs: monthly partitions made ahead by api.maintain_partitions): how many range partitions it has, until when they cover (the latest upper bound) and how many seconds ahead of now that is (negative: new rows go to the default partition), and the rows in its default partition (an estimate: should stay 0; rows there mean the maintenance job fell behind).';
GRANT SELECT ON monitoring.partitions TO livepanty_readonly;
