CREATE FUNCTION lp.grant_select(
    p_table  regclass,
    p_roles  text[],
    p_except text[] DEFAULT '{}'
) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_columns text;
    v_role    text;
BEGIN
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_columns
      FROM pg_catalog.pg_attribute AS a
     WHERE a.attrelid = p_table AND a.attnum > 0 AND NOT a.attisdropped
       AND NOT a.attname = ANY (p_except);
    FOREACH v_role IN ARRAY p_roles LOOP
        EXECUTE format('REVOKE ALL ON %s FROM %I', p_table, v_role);
        EXECUTE format('GRANT SELECT (%s) ON %s TO %I', v_columns, p_table, v_role);
    END LOOP;
END
$$;
COMMENT ON FUNCTION lp.grant_select(regclass, text[], text[]) IS 'Used by db/policies: revokes everything on a table from the given roles, then grants SELECT on every column except p_except (the secrets), so new columns are covered at the next deploy.';
REVOKE ALL ON FUNCTION lp.grant_select(regclass, text[], text[]) FROM PUBLIC;
