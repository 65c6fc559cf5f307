CREATE FUNCTION api.current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT nullif(pg_catalog.current_setting('lp.user_id', true), '')::uuid
$$;
COMMENT ON FUNCTION api.current_user_id() IS 'The platform user acting in this transaction (set_config(''lp.user_id'', id, true) or api.authenticate), or NULL.';
REVOKE ALL ON FUNCTION api.current_user_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.current_user_id() TO livepanty_app, livepanty_service, livepanty_readonly;
