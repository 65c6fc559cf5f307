DROP VIEW IF EXISTS monitoring.archiver CASCADE;
CREATE VIEW monitoring.archiver WITH (security_invoker = false) AS
SELECT current_setting('archive_mode') <> 'off' AS archiving,
       a.archived_count, a.failed_count,
       a.last_archived_time,
       extract(epoch FROM now() - a.last_archived_time)::double precision AS last_archived_seconds,
       a.last_failed_time,
       a.last_failed_time IS NOT NULL
           AND (a.last_archived_time IS NULL OR a.last_failed_time > a.last_archived_time) AS failing
  FROM pg_catalog.pg_stat_archiver AS a;
COMMENT ON VIEW monitoring.archiver IS 'WAL archiving (pg_stat_archiver; set up by livepanty-db backup setup): whether archive_mode is on, WAL files archived and failed since the statistics were reset, when the last one was archived and how many seconds ago, the last failure, and failing: the latest attempt failed (WAL piles up in pg_wal until it succeeds).';
GRANT SELECT ON monitoring.archiver TO livepanty_readonly;
