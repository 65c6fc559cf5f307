CREATE FUNCTION lp.normalize_email(p_email text) RETURNS ext.citext
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_email text := btrim(p_email);
BEGIN
    IF v_email IS NULL OR v_email = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP010', MESSAGE = 'email is required';
    END IF;
    IF char_length(v_email) > 254 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP010', MESSAGE = 'email is too long',
            DETAIL = format('%s characters; at most 254 allowed', char_length(v_email));
    END IF;
    IF v_email !~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$'
       OR char_length(split_part(v_email, '@', 1)) > 64 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP010', MESSAGE = 'email is not a valid address',
            HINT = 'Expected local-part@domain.tld (ASCII).';
    END IF;
    RETURN v_email::ext.citext;
END
$$;
COMMENT ON FUNCTION lp.normalize_email(text) IS 'Trims and validates an e-mail address (LP010), returning it as citext.';
REVOKE ALL ON FUNCTION lp.normalize_email(text) FROM PUBLIC;
