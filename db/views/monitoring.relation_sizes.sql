DROP VIEW IF EXISTS monitoring.relation_sizes CASCADE;
CREATE VIEW monitoring.relation_sizes WITH (security_invoker = false) AS
SELECT c.relname::text AS table_name,
       CASE WHEN c.relkind = 'p'
            THEN (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0)::bigint
                    FROM pg_catalog.pg_partition_tree(c.oid) AS t WHERE t.isleaf)
            ELSE pg_total_relation_size(c.oid) END AS bytes
  FROM pg_catalog.pg_class AS c
 WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition;
COMMENT ON VIEW monitoring.relation_sizes IS 'The size in bytes of every lp table, indexes and TOAST included, a partitioned table''s partitions summed into it.';
GRANT SELECT ON monitoring.relation_sizes TO livepanty_readonly;
