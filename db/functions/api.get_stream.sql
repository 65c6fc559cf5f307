CREATE FUNCTION api.get_stream(p_stream_id uuid) RETURNS api.stream
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_stream lp.streams;
BEGIN
    SELECT s.* INTO v_stream FROM lp.streams AS s WHERE s.id = p_stream_id
       AND (s.deleted_at IS NULL OR coalesce(lp.current_user_role() IN ('moderator', 'admin'), false));  -- a deleted stream: staff only
    -- Public streams: any signed-in user; others: the host, a co-performer, staff. Anyone else: LP003, as if
    -- the stream did not exist.
    IF v_stream.id IS NULL
       OR (v_stream.visibility <> 'public' AND v_stream.host_id <> v_actor
           AND NOT EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                            WHERE sp.stream_id = v_stream.id AND sp.performer_id = v_actor)
           AND coalesce(lp.current_user_role(), '') NOT IN ('moderator', 'admin')) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
    END IF;
    RETURN lp.stream_info(v_stream);
END
$$;
COMMENT ON FUNCTION api.get_stream(uuid) IS 'One stream: any signed-in user reads a public one; a private or group stream only its host, its co-performers and staff. LP001 nobody acting, LP003 unknown, not visible, or deleted (staff read a deleted stream).';
REVOKE ALL ON FUNCTION api.get_stream(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_stream(uuid) TO livepanty_app, livepanty_service;
