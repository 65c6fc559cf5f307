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
    -- Comments are kept as written (an ORM's trailing tag may name a user or a route): cut from the text shown.
    -- Double-quoted identifiers are kept as written too (an alias or a relation named after a user, a route, a
    -- customer): each one is shown as "?" (U&"..." as U&"?"), whatever it names.
    -- What is left of a text that still holds a quote, a dollar quote or a comment mark (a SELECT ... INTO,
    -- a utility statement that starts like a query, keeps its literals; a nested comment), or a double quote
    -- that pairs with none (a comment mark inside a quoted identifier cut the text), is withheld too.
    RETURN QUERY EXECUTE format(
        $q$SELECT s.queryid, s.calls, s.total_exec_time / 1000, s.mean_exec_time / 1000, s.max_exec_time / 1000,
                  s.rows,
                  CASE WHEN s.query !~* '^\s*(select|insert|update|delete|merge|with|values|table)\M'
                       THEN upper(coalesce(substring(s.query FROM '^\s*([A-Za-z]+)'), '?'))
                            || ' (utility statement: text withheld)'
                       WHEN c.text ~ '''|\$([A-Za-z_][A-Za-z0-9_]*)?\$|/\*|\*/'
                            OR replace(c.text, '"?"', '') ~ '"'
                            OR (c.text ~* '^\s*(select|values|table)\M' AND c.text ~* '\minto\M')
                       THEN upper(substring(s.query FROM '^\s*([A-Za-z]+)'))
                            || ' (literals or comments: text withheld)'
                       ELSE left(regexp_replace(btrim(c.text), '\s+', ' ', 'g'), 200)
                  END
             FROM %I.pg_stat_statements AS s
            CROSS JOIN LATERAL (SELECT regexp_replace(regexp_replace(regexp_replace(s.query, '/\*.*?\*/', ' ', 'g'),
                                                                     '--[^\n]*', ' ', 'g'),
                                                      '"[^"]*"', '"?"', 'g')) AS c (text)
            WHERE s.dbid = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = current_database())
              AND s.queryid IS NOT NULL
            ORDER BY s.mean_exec_time DESC, s.queryid
            LIMIT $1$q$, v_schema)
    USING p_limit;
END
$$;
COMMENT ON FUNCTION monitoring.list_statements(integer) IS 'The p_limit (1..1000) statements of this database with the highest mean execution time, from pg_stat_statements (empty when it is not installed or not preloaded): calls, total, mean and max time in seconds, rows, and the normalised text (constants replaced by $n, comments cut, every double-quoted identifier shown as "?"; a utility statement, and a text still holding a literal or a comment mark such as a SELECT ... INTO, or a double quote left unpaired by a comment mark inside a quoted identifier, shows only its first word, since its text keeps literals such as passwords). LP018 bad limit. Read through monitoring.slow_statements.';
REVOKE ALL ON FUNCTION monitoring.list_statements(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION monitoring.list_statements(integer) TO livepanty_readonly;
