CREATE FUNCTION api.register_user(
    p_email         text,
    p_username      text,
    p_password      text,
    p_date_of_birth date,
    p_role          text DEFAULT 'viewer',
    p_display_name  text DEFAULT NULL,
    p_country_code  text DEFAULT NULL,
    p_ip_address    inet DEFAULT NULL
) RETURNS api.user_account
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user_id uuid;
BEGIN
    IF p_role IS NULL OR p_role NOT IN ('viewer', 'performer') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP017', MESSAGE = format('cannot register with role %L', p_role),
            HINT = 'Self-registration is for viewers and performers; an admin grants other roles (api.set_user_role).';
    END IF;
    v_user_id := lp.create_user(p_email, p_username, p_password, p_date_of_birth, p_role, p_display_name,
                                p_country_code);
    PERFORM lp.audit('user.register', 'user', v_user_id::text, jsonb_build_object('role', p_role),
                     p_ip_address, v_user_id);
    RETURN lp.user_account(v_user_id);
END
$$;
COMMENT ON FUNCTION api.register_user(text, text, text, date, text, text, text, inet) IS 'Registers a viewer or performer (18+, unique e-mail and username, strong password) with preferences and a wallet.';
REVOKE ALL ON FUNCTION api.register_user(text, text, text, date, text, text, text, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.register_user(text, text, text, date, text, text, text, inet) TO livepanty_app, livepanty_service;
