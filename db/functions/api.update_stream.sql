CREATE FUNCTION api.update_stream(
    p_stream_id    uuid,
    p_title        text DEFAULT NULL,
    p_category     text DEFAULT NULL,
    p_tags         text[] DEFAULT NULL,
    p_visibility   text DEFAULT NULL,
    p_is_mature    boolean DEFAULT NULL,
    p_scheduled_at timestamptz DEFAULT NULL,
    p_description  text DEFAULT NULL
) RETURNS api.stream
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_host        uuid := lp.require_user('performer');
    v_title       text := lp.check_text(p_title, 'title', 140);
    v_description text := lp.check_text(p_description, 'description', 5000);
    v_tags        text[];
    v_stream      lp.streams;
    v_channel     text;
BEGIN
    v_stream := lp.lock_stream(p_stream_id, ARRAY['scheduled', 'live'], 'be updated', v_host);
    v_channel := lp.event_channel(v_stream.id);
    v_tags := lp.check_stream_fields(p_category, p_tags, p_visibility, p_scheduled_at);
    IF p_scheduled_at IS NOT NULL AND v_stream.status <> 'scheduled' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'a live stream cannot be rescheduled';
    END IF;
    UPDATE lp.streams AS s
       SET title        = coalesce(v_title, s.title),
           description  = coalesce(v_description, s.description),
           category     = coalesce(p_category, s.category),
           tags         = coalesce(v_tags, s.tags),
           visibility   = coalesce(p_visibility::lp.stream_visibility, s.visibility),
           is_mature    = coalesce(p_is_mature, s.is_mature),
           scheduled_at = coalesce(p_scheduled_at, s.scheduled_at)
     WHERE s.id = v_stream.id
    RETURNING * INTO v_stream;
    -- The events' channel is named after the visibility too (lp.event_channel): a change of visibility moves
    -- it, so that who learned the public channel hears nothing of the private stream. Its listeners are woken
    -- on the old channel (payload 'channel', at commit) to ask api.stream_channel again: who may still read the
    -- stream gets the new name, anyone else LP003.
    IF lp.event_channel(v_stream.id) <> v_channel THEN
        PERFORM pg_notify(v_channel, 'channel');
    END IF;
    RETURN lp.stream_info(v_stream);
END
$$;
COMMENT ON FUNCTION api.update_stream(uuid, text, text, text[], text, boolean, timestamptz, text) IS 'The host changes the given fields of their scheduled or live stream (NULL leaves a field as it is; a blank description stays as it was): title, category, tags, visibility, mature flag, start time (scheduled streams only), description; the same rules as api.schedule_stream. A change of visibility moves the stream''s event channel (lp.event_channel) and wakes the old one''s listeners with the payload ''channel''. LP003 unknown stream, LP002 not the host (or not a performer), LP004 ended or cancelled (or rescheduling a live stream), LP018 a field out of its rules.';
REVOKE ALL ON FUNCTION api.update_stream(uuid, text, text, text[], text, boolean, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.update_stream(uuid, text, text, text[], text, boolean, timestamptz, text) TO livepanty_app, livepanty_service;
