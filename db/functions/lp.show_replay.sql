CREATE FUNCTION lp.show_replay(p_viewer uuid, p_key text, p_show_id uuid, p_stream_id uuid)
    RETURNS lp.show_participants
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_row lp.show_participants;
    v_stream uuid;
BEGIN
    -- A retry of api.request_show or api.join_show: the participation whose hold carries the key. The same
    -- key for another show or stream is LP106. NULL when the key is new.
    SELECT p.* INTO v_row
      FROM lp.holds AS h
      JOIN lp.show_participants AS p ON p.hold_id = h.id
     WHERE h.user_id = p_viewer AND h.idempotency_key = 'show:' || p_key;
    SELECT s.stream_id INTO v_stream FROM lp.shows AS s WHERE s.id = v_row.show_id;
    IF v_row.id IS NOT NULL AND (v_row.show_id IS DISTINCT FROM coalesce(p_show_id, v_row.show_id)
                                 OR v_stream IS DISTINCT FROM coalesce(p_stream_id, v_stream)) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP106', MESSAGE = 'idempotency key already used for another show';
    END IF;
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION lp.show_replay(uuid, text, uuid, uuid) IS 'The participation a viewer''s show call with this idempotency key made before (its hold carries the key, prefixed show:), or NULL; LP106 when it was for another show or stream.';
REVOKE ALL ON FUNCTION lp.show_replay(uuid, text, uuid, uuid) FROM PUBLIC;
