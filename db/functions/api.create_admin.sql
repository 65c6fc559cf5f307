CREATE FUNCTION api.create_admin(
    p_email         text,
    p_username      text,
    p_password      text,
    p_date_of_birth date,
    p_display_name  text DEFAULT NULL
) RETURNS api.user_account
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user_id uuid;
BEGIN
    v_user_id := lp.create_user(p_email, p_username, p_password, p_date_of_birth, 'admin', p_display_name, NULL);
    PERFORM lp.audit('admin.create', 'user', v_user_id::text,
                     jsonb_build_object('by', session_user::text), NULL, api.current_user_id());
    RETURN lp.user_account(v_user_id);
END
$$;
COMMENT ON FUNCTION api.create_admin(text, text, text, date, text) IS 'Admin bootstrap for operators (livepanty-db admin create): creates an admin account. Service role only; no default password exists anywhere.';
REVOKE ALL ON FUNCTION api.create_admin(text, text, text, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.create_admin(text, text, text, date, text) TO livepanty_service;
