CREATE FUNCTION api.partition_rows(p_partition text) RETURNS SETOF text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET TimeZone = 'UTC'
AS $$
DECLARE
    v_part record := lp.month_partition(p_partition);
BEGIN
    -- Each row's JSON text, in id order: exactly what lp.partition_digest hashes.
    RETURN QUERY EXECUTE format('SELECT row_to_json(t)::text FROM %s AS t ORDER BY t.id', v_part.partition_oid);
END
$$;
COMMENT ON FUNCTION api.partition_rows(text) IS 'Back office (livepanty_service), used by livepanty-db archive: every row of an attached monthly partition of lp.ledger or lp.audit_logs as its row_to_json text (times in UTC), in id order (LP193 for any other name). Read it with a server-side cursor.';
REVOKE ALL ON FUNCTION api.partition_rows(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.partition_rows(text) TO livepanty_service;
