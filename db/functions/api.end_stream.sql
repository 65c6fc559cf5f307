CREATE FUNCTION api.end_stream(p_stream_id uuid, p_reason text DEFAULT NULL) RETURNS api.stream
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_reason text := lp.check_text(p_reason, 'reason', 1000);
    v_stream lp.streams;
    v_admin  boolean;
BEGIN
    v_stream := lp.lock_stream(p_stream_id, ARRAY['scheduled', 'live'], 'end');
    IF v_stream.host_id <> v_actor THEN
        v_admin := lp.current_user_role() IS NOT DISTINCT FROM 'admin';
        IF NOT v_admin THEN
            RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only the host or an admin can end the stream';
        END IF;
        IF v_reason IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'an admin ending someone else''s stream gives a reason';
        END IF;
    END IF;

    v_stream := lp.close_stream(v_stream, v_reason, CASE WHEN v_stream.host_id = v_actor THEN 'host' ELSE 'admin' END);
    RETURN lp.stream_info(v_stream);
END
$$;
COMMENT ON FUNCTION api.end_stream(uuid, text) IS 'Ends a live stream (status ended: every open viewing session is closed, the ingest key stops working, and the final statistics are written: unique viewers, watch time, tips and their tokens) or cancels a scheduled one (status cancelled). The host may, with an optional reason; an admin may end anyone''s stream and must give a reason (1000 characters). LP003 unknown stream, LP002 neither the host nor an admin, LP004 already ended or cancelled, LP018 an admin without a reason. Audited (stream.end).';
REVOKE ALL ON FUNCTION api.end_stream(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.end_stream(uuid, text) TO livepanty_app, livepanty_service;
