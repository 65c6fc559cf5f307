CREATE FUNCTION api.set_setting(p_key text, p_value jsonb) RETURNS lp.settings
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor   uuid := lp.require_user('admin');
    v_setting lp.settings;
    v_number  numeric;
    v_old     jsonb;
BEGIN
    SELECT s.* INTO v_setting FROM lp.settings AS s WHERE s.key = p_key FOR UPDATE;
    IF v_setting.key IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP091', MESSAGE = format('unknown setting %L', left(p_key, 100));
    END IF;
    IF p_value IS NULL OR jsonb_typeof(p_value) <> jsonb_typeof(v_setting.value) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = format('%s takes a %s value', p_key, jsonb_typeof(v_setting.value));
    END IF;
    IF jsonb_typeof(p_value) = 'number' THEN
        v_number := p_value::text::numeric;
        IF v_number <> trunc(v_number) OR v_number < 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = format('%s takes a non-negative integer', p_key);
        END IF;
        IF (p_key = 'auth.bcrypt_cost' AND v_number NOT BETWEEN 4 AND 15)
           OR (p_key = 'auth.password_min_length' AND v_number NOT BETWEEN 8 AND 72)
           OR (p_key = 'auth.max_failed_logins' AND v_number NOT BETWEEN 1 AND 100)
           OR (p_key = 'auth.minimum_age_years' AND v_number NOT BETWEEN 18 AND 99)
           OR (p_key IN ('auth.lockout_minutes', 'auth.session_ttl_hours', 'auth.reset_token_ttl_minutes')
               AND v_number NOT BETWEEN 1 AND 100000) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP092', MESSAGE = format('%s is out of range', p_key);
        END IF;
    END IF;
    v_old := v_setting.value;
    UPDATE lp.settings AS s SET value = p_value, updated_by = v_actor WHERE s.key = p_key
    RETURNING * INTO v_setting;
    PERFORM lp.audit('setting.change', 'setting', p_key,
                     jsonb_build_object('from', v_old, 'to', p_value));
    RETURN v_setting;
END
$$;
COMMENT ON FUNCTION api.set_setting(text, jsonb) IS 'Admins: changes a runtime setting (audited with old and new value). LP091 unknown key, LP092 wrong type or out of range.';
REVOKE ALL ON FUNCTION api.set_setting(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.set_setting(text, jsonb) TO livepanty_app, livepanty_service;
