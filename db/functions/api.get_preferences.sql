CREATE FUNCTION api.get_preferences() RETURNS lp.user_preferences
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor uuid := lp.require_user();
    v_prefs lp.user_preferences;
BEGIN
    SELECT p.* INTO v_prefs FROM lp.user_preferences AS p WHERE p.user_id = v_actor;
    RETURN v_prefs;
END
$$;
COMMENT ON FUNCTION api.get_preferences() IS 'The acting user''s preferences.';
REVOKE ALL ON FUNCTION api.get_preferences() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_preferences() TO livepanty_app, livepanty_service;
