CREATE FUNCTION lp.lock_admin_set() RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT pg_advisory_xact_lock(hashtext('lp.users.admin_set'))
$$;
COMMENT ON FUNCTION lp.lock_admin_set() IS 'Transaction-level lock taken, before any row lock, by every function that may remove an admin (api.set_user_role, api.delete_user), so lp.assert_not_last_admin sees a stable set of admins.';
REVOKE ALL ON FUNCTION lp.lock_admin_set() FROM PUBLIC;
