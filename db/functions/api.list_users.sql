CREATE FUNCTION api.list_users(
    p_role            text DEFAULT NULL,
    p_after           uuid DEFAULT NULL,
    p_limit           integer DEFAULT 50,
    p_include_deleted boolean DEFAULT false
) RETURNS SETOF api.user_account
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM lp.list_users_page(p_role, NULL, p_after, p_limit, p_include_deleted);
END
$$;
COMMENT ON FUNCTION api.list_users(text, uuid, integer, boolean) IS 'Moderators and admins: users in registration order, optionally of one role; keyset pagination (p_after = last id of the previous page, p_limit 1..1000).';
REVOKE ALL ON FUNCTION api.list_users(text, uuid, integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_users(text, uuid, integer, boolean) TO livepanty_app, livepanty_service;
