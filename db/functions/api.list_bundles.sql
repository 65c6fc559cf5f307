CREATE FUNCTION api.list_bundles() RETURNS SETOF lp.token_bundles
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_admin boolean;
BEGIN
    PERFORM lp.require_user();
    v_admin := lp.current_user_role() IS NOT DISTINCT FROM 'admin';
    RETURN QUERY
        SELECT b.* FROM lp.token_bundles AS b
         WHERE b.active OR v_admin
         ORDER BY b.tokens, b.code;
END
$$;
COMMENT ON FUNCTION api.list_bundles() IS 'Any signed-in user: the token bundles on sale (admins: every bundle, inactive ones too), smallest first.';
REVOKE ALL ON FUNCTION api.list_bundles() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_bundles() TO livepanty_app, livepanty_service;
