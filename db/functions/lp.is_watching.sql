CREATE FUNCTION lp.is_watching(p_stream_id uuid, p_user_id uuid, p_since timestamptz) RETURNS boolean
    LANGUAGE sql STABLE
AS $$
    -- "Still watching", written once (api.answer_show, api.start_show, api.bill_shows step 2): the user has an
    -- open viewing session of the stream whose last heartbeat is at or after p_since (the callers pass now()
    -- less streams.viewer_timeout_seconds). Sessions are read, not locked.
    SELECT EXISTS (SELECT 1 FROM lp.stream_viewers AS v
                    WHERE v.stream_id = p_stream_id AND v.user_id = p_user_id
                      AND v.left_at IS NULL AND v.last_heartbeat_at >= p_since)
$$;
COMMENT ON FUNCTION lp.is_watching(uuid, uuid, timestamptz) IS 'Owner-only: true when the user has an open viewing session of the stream with a heartbeat at or after p_since (the "still watching" rule of paid shows).';
REVOKE ALL ON FUNCTION lp.is_watching(uuid, uuid, timestamptz) FROM PUBLIC;
