CREATE FUNCTION api.find_user(p_login text) RETURNS api.user_account
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_login   text := btrim(p_login);
    v_user_id uuid;
BEGIN
    PERFORM lp.require_user('moderator', 'admin');
    IF v_login IS NULL OR v_login = '' OR char_length(v_login) > 254 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'login must be an e-mail address or a username';
    END IF;
    SELECT u.id INTO v_user_id FROM lp.users AS u
     WHERE (u.email = v_login::ext.citext OR u.username = v_login::ext.citext) AND u.deleted_at IS NULL;
    IF v_user_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    RETURN lp.user_account(v_user_id);
END
$$;
COMMENT ON FUNCTION api.find_user(text) IS 'Moderators and admins: the active user with this e-mail address or username (LP003 if none).';
REVOKE ALL ON FUNCTION api.find_user(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.find_user(text) TO livepanty_app, livepanty_service;
