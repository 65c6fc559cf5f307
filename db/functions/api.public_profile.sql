CREATE FUNCTION api.public_profile(p_user_id uuid)
RETURNS TABLE (id uuid, username text, display_name text, role text, avatar_url text, bio text)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT u.id, u.username::text, u.display_name, u.role, u.avatar_url, u.bio
      FROM lp.users AS u
     WHERE u.id = p_user_id AND u.deleted_at IS NULL
       AND api.current_user_id() IS NOT NULL
$$;
COMMENT ON FUNCTION api.public_profile(uuid) IS 'The public face of an active user (handle, display name, role, avatar, bio): what any signed-in user may see of another (no row when nobody acts). Never e-mail, birth date or anything private.';
REVOKE ALL ON FUNCTION api.public_profile(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.public_profile(uuid) TO livepanty_app, livepanty_service;
