CREATE FUNCTION api.get_user(p_user_id uuid DEFAULT NULL) RETURNS api.user_account
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor   uuid := lp.require_user();
    v_target  uuid := coalesce(p_user_id, v_actor);
    v_account api.user_account;
BEGIN
    IF v_target <> v_actor AND coalesce(lp.current_user_role(), '') NOT IN ('moderator', 'admin') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    v_account := lp.user_account(v_target);
    IF v_account.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    RETURN v_account;
END
$$;
COMMENT ON FUNCTION api.get_user(uuid) IS 'A user account: the acting user''s own (default), or anyone''s for moderators and admins; LP003 otherwise.';
REVOKE ALL ON FUNCTION api.get_user(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_user(uuid) TO livepanty_app, livepanty_service;
