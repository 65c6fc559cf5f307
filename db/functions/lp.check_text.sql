CREATE FUNCTION lp.check_text(
    p_value    text,
    p_field    text,
    p_max      integer,
    p_required boolean DEFAULT false
) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    v_value text := nullif(btrim(p_value), '');
BEGIN
    IF v_value IS NULL AND p_required THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = format('%s is required', p_field);
    END IF;
    IF char_length(v_value) > p_max THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = format('%s is too long', p_field),
            DETAIL = format('%s characters; at most %s allowed', char_length(v_value), p_max);
    END IF;
    RETURN v_value;
END
$$;
COMMENT ON FUNCTION lp.check_text(text, text, integer, boolean) IS 'Trims a free-text argument, turns '''' into NULL and raises LP018 when it is required but empty or longer than p_max characters.';
REVOKE ALL ON FUNCTION lp.check_text(text, text, integer, boolean) FROM PUBLIC;
