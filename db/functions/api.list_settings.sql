CREATE FUNCTION api.list_settings() RETURNS SETOF lp.settings
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM lp.require_user('admin');
    RETURN QUERY SELECT s.* FROM lp.settings AS s ORDER BY s.key;
END
$$;
COMMENT ON FUNCTION api.list_settings() IS 'Admins: every runtime setting with its description.';
REVOKE ALL ON FUNCTION api.list_settings() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_settings() TO livepanty_app, livepanty_service;
