CREATE FUNCTION lp.month_partition(p_name text, OUT partition_oid regclass, OUT parent regclass,
                                   OUT range_from timestamptz, OUT range_to timestamptz)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- A monthly partition of lp.ledger or lp.audit_logs, attached, named lp_partitions.<table>_YYYY_MM.
    SELECT c.oid::regclass, i.inhparent::regclass, x.lower_b, x.upper_b INTO partition_oid, parent, range_from, range_to
      FROM pg_catalog.pg_class AS c
      JOIN pg_catalog.pg_inherits AS i ON i.inhrelid = c.oid
     CROSS JOIN LATERAL (SELECT (regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid),
                                              $r$FROM \('([^']+)'\) TO \('([^']+)'\)$r$)) AS b) AS m
     CROSS JOIN LATERAL (SELECT m.b[1]::timestamptz AS lower_b, m.b[2]::timestamptz AS upper_b) AS x
     WHERE c.relnamespace = 'lp_partitions'::regnamespace AND c.relname = split_part(p_name, '.', 2)
       AND split_part(p_name, '.', 1) = 'lp_partitions'
       AND i.inhparent IN ('lp.ledger'::regclass, 'lp.audit_logs'::regclass) AND m.b IS NOT NULL;
    IF partition_oid IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP193', MESSAGE = format('%s is not an attached monthly partition of lp.ledger or lp.audit_logs', p_name);
    END IF;
END
$$;
COMMENT ON FUNCTION lp.month_partition(text) IS 'Owner only: the attached monthly partition of lp.ledger or lp.audit_logs named p_name (lp_partitions.<table>_YYYY_MM), its parent and its range; LP193 when there is none.';
REVOKE ALL ON FUNCTION lp.month_partition(text) FROM PUBLIC;
