CREATE FUNCTION lp.current_user_role() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT u.role FROM lp.users AS u
     WHERE u.id = api.current_user_id() AND u.deleted_at IS NULL
$$;
COMMENT ON FUNCTION lp.current_user_role() IS 'Platform role of the acting user (NULL when nobody acts or the user is deleted). SECURITY DEFINER so RLS policies can call it without recursing into the users policies.';
REVOKE ALL ON FUNCTION lp.current_user_role() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lp.current_user_role() TO livepanty_app, livepanty_service;
