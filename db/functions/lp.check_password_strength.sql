CREATE FUNCTION lp.check_password_strength(
    p_password text,
    p_username text DEFAULT NULL,
    p_email    text DEFAULT NULL
) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_min integer := (lp.setting('auth.password_min_length'))::integer;
BEGIN
    IF p_password IS NULL OR char_length(p_password) < v_min THEN
        RAISE EXCEPTION USING ERRCODE = 'LP012', MESSAGE = 'password is too short',
            DETAIL = format('at least %s characters required', v_min);
    END IF;
    -- bcrypt ignores everything after 72 bytes: refuse rather than silently truncate.
    IF octet_length(p_password) > 72 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP012', MESSAGE = 'password is too long',
            DETAIL = 'at most 72 bytes (UTF-8)';
    END IF;
    IF p_password !~ '[[:alpha:]]' OR p_password !~ '[^[:alpha:]]' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP012', MESSAGE = 'password is too weak',
            HINT = 'Use letters and at least one digit or symbol.';
    END IF;
    IF (p_username IS NOT NULL AND strpos(lower(p_password), lower(p_username)) > 0)
       OR (p_email IS NOT NULL AND char_length(split_part(p_email, '@', 1)) >= 3
           AND strpos(lower(p_password), lower(split_part(p_email, '@', 1))) > 0) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP012', MESSAGE = 'password must not contain the username or e-mail name';
    END IF;
END
$$;
COMMENT ON FUNCTION lp.check_password_strength(text, text, text) IS 'Password rules (LP012): at least auth.password_min_length characters, at most 72 bytes, letters plus a digit or symbol, not containing the username or the e-mail''s local part.';
REVOKE ALL ON FUNCTION lp.check_password_strength(text, text, text) FROM PUBLIC;
