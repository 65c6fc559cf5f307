CREATE FUNCTION lp.list_users_page(
    p_role            text,
    p_after_created   timestamptz,
    p_after_id        uuid,
    p_limit           integer,
    p_include_deleted boolean
) RETURNS SETOF api.user_account
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_after timestamptz := p_after_created;
BEGIN
    PERFORM lp.require_user('moderator', 'admin');
    IF p_role IS NOT NULL THEN
        PERFORM lp.check_choice(p_role, 'lp.user_role', 'role', 'LP017');
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 1000';
    END IF;
    IF p_after_id IS NOT NULL AND v_after IS NULL THEN
        -- A cursor id alone (api.list_users): its key is read here.
        SELECT u.created_at INTO v_after FROM lp.users AS u WHERE u.id = p_after_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'unknown pagination cursor';
        END IF;
    END IF;
    -- Keyset pagination on (created_at, id): p_after_* is the last user of the previous page (the router passes
    -- both: the cursor may live on another shard). The stubs of users of other shards (lp.remote_users, on a
    -- shard of a sharded installation) are not this database's users and are left out.
    RETURN QUERY
        SELECT a.*
          FROM lp.users AS u
         CROSS JOIN LATERAL lp.user_account(u.id) AS a
         WHERE (p_role IS NULL OR u.role = p_role::lp.user_role)
           AND (p_include_deleted OR u.deleted_at IS NULL)
           AND (p_after_id IS NULL OR (u.created_at, u.id) > (v_after, p_after_id))
           AND NOT EXISTS (SELECT 1 FROM lp.remote_users AS r WHERE r.user_id = u.id)
         ORDER BY u.created_at, u.id
         LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION lp.list_users_page(text, timestamptz, uuid, integer, boolean) IS 'api.list_users''s page after the user p_after_id, whose created_at is read here unless given (the router gives it: every shard''s page of its merged list): moderators and admins (LP002), role filter (LP017), p_limit 1..1000 and a known cursor (LP018); stubs of other shards'' users left out.';
REVOKE ALL ON FUNCTION lp.list_users_page(text, timestamptz, uuid, integer, boolean) FROM PUBLIC;
