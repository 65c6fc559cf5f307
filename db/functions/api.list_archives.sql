CREATE FUNCTION api.list_archives()
RETURNS TABLE (id uuid, table_name text, partition_name text, range_from timestamptz, range_to timestamptz,
               boundary timestamptz, file_name text, file_sha256 text, content_sha256 text, row_count bigint,
               first_id bigint, last_id bigint, archived_at timestamptz, restored_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT a.id, a.table_name, a.partition_name, a.range_from, a.range_to, a.boundary, a.file_name, a.file_sha256,
           a.content_sha256, a.row_count, a.first_id, a.last_id, a.archived_at, a.restored_at
      FROM lp.archives AS a
     ORDER BY a.archived_at, a.range_from, a.table_name
$$;
COMMENT ON FUNCTION api.list_archives() IS 'Back office (livepanty_service): every partition archived to a file (livepanty-db archive), oldest first: table, partition, UTC month, boundary, file name and digests, rows and id range, when it was archived and, if so, restored.';
REVOKE ALL ON FUNCTION api.list_archives() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_archives() TO livepanty_service;
