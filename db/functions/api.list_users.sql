CREATE FUNCTION api.list_users(
    p_role            text DEFAULT NULL,
    p_after           uuid DEFAULT NULL,
    p_limit           integer DEFAULT 50,
    p_include_deleted boolean DEFAULT false
) RETURNS SETOF api.user_account
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_after_created timestamptz;
BEGIN
    PERFORM lp.require_user('moderator', 'admin');
    IF p_role IS NOT NULL THEN
        PERFORM lp.check_choice(p_role, 'lp.user_role', 'role', 'LP017');
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 1000';
    END IF;
    IF p_after IS NOT NULL THEN
        SELECT u.created_at INTO v_after_created FROM lp.users AS u WHERE u.id = p_after;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'unknown pagination cursor';
        END IF;
    END IF;
    -- Keyset pagination on (created_at, id): pass the last id of a page as p_after for the next one.
    RETURN QUERY
        SELECT a.*
          FROM lp.users AS u
         CROSS JOIN LATERAL lp.user_account(u.id) AS a
         WHERE (p_role IS NULL OR u.role = p_role::lp.user_role)
           AND (p_include_deleted OR u.deleted_at IS NULL)
           AND (p_after IS NULL OR (u.created_at, u.id) > (v_after_created, p_after))
         ORDER BY u.created_at, u.id
         LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_users(text, uuid, integer, boolean) IS 'Moderators and admins: users in registration order, optionally of one role; keyset pagination (p_after = last id of the previous page, p_limit 1..1000).';
REVOKE ALL ON FUNCTION api.list_users(text, uuid, integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_users(text, uuid, integer, boolean) TO livepanty_app, livepanty_service;
