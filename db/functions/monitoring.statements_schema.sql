CREATE FUNCTION monitoring.statements_schema() RETURNS name
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_schema name;
BEGIN
    SELECT n.nspname INTO v_schema
      FROM pg_catalog.pg_extension AS e JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_stat_statements';
    IF v_schema IS NULL THEN
        RETURN NULL;  -- not installed in this database (CREATE EXTENSION)
    END IF;
    BEGIN
        -- Installed but not in shared_preload_libraries: every read fails with 55000.
        EXECUTE format('SELECT 1 FROM %I.pg_stat_statements_info', v_schema);
    EXCEPTION WHEN object_not_in_prerequisite_state OR undefined_table OR insufficient_privilege THEN
        RETURN NULL;
    END;
    RETURN v_schema;
END
$$;
COMMENT ON FUNCTION monitoring.statements_schema() IS 'The schema of pg_stat_statements when it can be read (installed in this database, version 1.9 or later, and loaded through shared_preload_libraries); NULL otherwise (monitoring.slow_statements is then empty). Owner only: called by monitoring.list_statements and monitoring.server_status.';
REVOKE ALL ON FUNCTION monitoring.statements_schema() FROM PUBLIC;
