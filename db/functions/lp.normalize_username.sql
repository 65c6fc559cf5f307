CREATE FUNCTION lp.normalize_username(p_username text) RETURNS ext.citext
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_username text := btrim(p_username);
BEGIN
    IF v_username IS NULL OR v_username = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP011', MESSAGE = 'username is required';
    END IF;
    IF v_username !~ '^[A-Za-z][A-Za-z0-9_]{2,29}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP011', MESSAGE = 'username is not valid',
            HINT = '3 to 30 characters: a letter, then letters, digits or underscores.';
    END IF;
    IF lower(v_username) IN ('admin', 'administrator', 'root', 'support', 'system', 'moderator', 'livepanty', 'staff') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP011', MESSAGE = 'username is reserved';
    END IF;
    RETURN v_username::ext.citext;
END
$$;
COMMENT ON FUNCTION lp.normalize_username(text) IS 'Trims and validates a username (LP011): 3..30 characters, a letter then letters, digits or underscores, not a reserved word.';
REVOKE ALL ON FUNCTION lp.normalize_username(text) FROM PUBLIC;
