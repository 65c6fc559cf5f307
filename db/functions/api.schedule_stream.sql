CREATE FUNCTION api.schedule_stream(
    p_title        text,
    p_category     text DEFAULT 'general',
    p_tags         text[] DEFAULT '{}',
    p_visibility   text DEFAULT 'public',
    p_is_mature    boolean DEFAULT true,
    p_scheduled_at timestamptz DEFAULT NULL,
    p_description  text DEFAULT NULL
) RETURNS api.stream
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_host        uuid := lp.require_user('performer');
    v_title       text := lp.check_text(p_title, 'title', 140, true);
    v_description text := lp.check_text(p_description, 'description', 5000);
    v_tags        text[];
    v_stream      lp.streams;
BEGIN
    PERFORM lp.assert_not_sanctioned(v_host);
    v_tags := lp.check_stream_fields(coalesce(p_category, 'general'), coalesce(p_tags, ARRAY[]::text[]),
                                     coalesce(p_visibility, 'public'), p_scheduled_at);
    INSERT INTO lp.streams (host_id, title, description, category, tags, visibility, is_mature, scheduled_at)
    VALUES (v_host, v_title, v_description, coalesce(p_category, 'general'), v_tags,
            coalesce(p_visibility, 'public')::lp.stream_visibility, coalesce(p_is_mature, true), p_scheduled_at)
    RETURNING * INTO v_stream;
    RETURN lp.stream_info(v_stream);
END
$$;
COMMENT ON FUNCTION api.schedule_stream(text, text, text[], text, boolean, timestamptz, text) IS 'The acting performer schedules a stream (status scheduled): title (1..140 characters), category, tags, visibility (lp.stream_visibility), mature flag, optional start time (not in the past) and description (5000 characters). LP002 not a performer, LP022 suspended or banned, LP018 a field out of its rules (lp.check_stream_fields).';
REVOKE ALL ON FUNCTION api.schedule_stream(text, text, text[], text, boolean, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.schedule_stream(text, text, text[], text, boolean, timestamptz, text) TO livepanty_app, livepanty_service;
