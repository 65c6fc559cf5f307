CREATE FUNCTION monitoring.list_statements(p_limit integer DEFAULT 20)
RETURNS TABLE (queryid bigint, calls bigint, total_seconds double precision, mean_seconds double precision,
               max_seconds double precision, rows bigint, query text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_schema name := monitoring.statements_schema();
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 1000';
    END IF;
    IF v_schema IS NULL THEN
        RETURN;  -- not installed or not preloaded: no statistics, an empty answer
    END IF;
    -- Texts: pg_stat_statements replaces the constants of plannable statements (SELECT, INSERT, UPDATE,
    -- DELETE, MERGE, and WITH, VALUES, TABLE) by $n, so their text is shown (one line, 200 characters). A
    -- utility statement (ALTER ROLE ... PASSWORD, CALL, COPY, ...) keeps its literals: only its first word.
    RETURN QUERY EXECUTE format(
        $q$SELECT s.queryid, s.calls, s.total_exec_time / 1000, s.mean_exec_time / 1000, s.max_exec_time / 1000,
                  s.rows,
                  CASE WHEN s.query ~* '^\s*(select|insert|update|delete|merge|with|values|table)\M'
                       THEN left(regexp_replace(btrim(s.query), '\s+', ' ', 'g'), 200)
                       ELSE upper(coalesce(substring(s.query FROM '^\s*([A-Za-z]+)'), '?'))
                            || ' (utility statement: text withheld)'
                  END
             FROM %I.pg_stat_statements AS s
            WHERE s.dbid = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = current_database())
              AND s.queryid IS NOT NULL
            ORDER BY s.mean_exec_time DESC, s.queryid
            LIMIT $1$q$, v_schema)
    USING p_limit;
END
$$;
COMMENT ON FUNCTION monitoring.list_statements(integer) IS 'The p_limit (1..1000) statements of this database with the highest mean execution time, from pg_stat_statements (empty when it is not installed or not preloaded): calls, total, mean and max time in seconds, rows, and the normalised text (constants replaced by $n; a utility statement shows only its first word, since its text keeps literals such as passwords). LP018 bad limit. Read through monitoring.slow_statements.';
REVOKE ALL ON FUNCTION monitoring.list_statements(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION monitoring.list_statements(integer) TO livepanty_readonly;
