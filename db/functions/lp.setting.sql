CREATE FUNCTION lp.setting(p_key text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_value jsonb;
BEGIN
    SELECT s.value INTO v_value FROM lp.settings AS s WHERE s.key = p_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP091', MESSAGE = format('unknown setting %L', p_key),
            HINT = 'api.list_settings() lists the known keys.';
    END IF;
    RETURN v_value;
END
$$;
COMMENT ON FUNCTION lp.setting(text) IS 'Value of a runtime setting (lp.settings); LP091 for an unknown key. Called by SECURITY DEFINER api functions only.';
REVOKE ALL ON FUNCTION lp.setting(text) FROM PUBLIC;
