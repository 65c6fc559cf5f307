CREATE FUNCTION api.update_preferences(
    p_language            text DEFAULT NULL,
    p_timezone            text DEFAULT NULL,
    p_theme               text DEFAULT NULL,
    p_email_notifications boolean DEFAULT NULL,
    p_push_notifications  boolean DEFAULT NULL,
    p_tip_notifications   boolean DEFAULT NULL,
    p_marketing_emails    boolean DEFAULT NULL,
    p_show_online_status  boolean DEFAULT NULL,
    p_content_filter      text DEFAULT NULL
) RETURNS lp.user_preferences
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor uuid := lp.require_user();
    v_prefs lp.user_preferences;
BEGIN
    IF p_language IS NOT NULL AND p_language !~ '^[a-z]{2}(-[A-Z]{2})?$' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'language must look like en or en-US';
    END IF;
    IF p_timezone IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names AS z WHERE z.name = p_timezone) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = format('unknown time zone %L', left(p_timezone, 64)),
            HINT = 'Use an IANA name such as Europe/Berlin.';
    END IF;
    IF p_theme IS NOT NULL THEN
        PERFORM lp.check_choice(p_theme, 'lp.ui_theme', 'theme');
    END IF;
    IF p_content_filter IS NOT NULL THEN
        PERFORM lp.check_choice(p_content_filter, 'lp.content_filter', 'content_filter');
    END IF;
    UPDATE lp.user_preferences AS p
       SET language            = coalesce(p_language, p.language),
           timezone            = coalesce(p_timezone, p.timezone),
           theme               = coalesce(p_theme::lp.ui_theme, p.theme),
           email_notifications = coalesce(p_email_notifications, p.email_notifications),
           push_notifications  = coalesce(p_push_notifications, p.push_notifications),
           tip_notifications   = coalesce(p_tip_notifications, p.tip_notifications),
           marketing_emails    = coalesce(p_marketing_emails, p.marketing_emails),
           show_online_status  = coalesce(p_show_online_status, p.show_online_status),
           content_filter      = coalesce(p_content_filter::lp.content_filter, p.content_filter)
     WHERE p.user_id = v_actor
    RETURNING p.* INTO v_prefs;
    RETURN v_prefs;
END
$$;
COMMENT ON FUNCTION api.update_preferences(text, text, text, boolean, boolean, boolean, boolean, boolean, text) IS 'Updates the acting user''s preferences; NULL leaves a field unchanged. LP018 for an invalid language, time zone, theme or content filter.';
REVOKE ALL ON FUNCTION api.update_preferences(text, text, text, boolean, boolean, boolean, boolean, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.update_preferences(text, text, text, boolean, boolean, boolean, boolean, boolean, text) TO livepanty_app, livepanty_service;
