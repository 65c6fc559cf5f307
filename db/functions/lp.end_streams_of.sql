CREATE FUNCTION lp.end_streams_of(p_user_id uuid, p_reason text) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_stream lp.streams;
    v_ended  integer := 0;
BEGIN
    -- The go-live gate holds for as long as a stream is live: when a performer on camera (the host or a
    -- co-performer) is banned or suspended, stops being a performer or is deleted, their live streams end now.
    -- Scheduled ones are locked too (and left scheduled): an api.start_stream in flight either committed
    -- first (its stream is found live here, after the wait, and ended) or waits for this transaction and
    -- then finds the gate closed. Lock order: the user's row and sessions (callers), then streams in id order.
    FOR v_stream IN
        SELECT s.* FROM lp.streams AS s
         WHERE s.status IN ('scheduled', 'live') AND s.deleted_at IS NULL
           AND (s.host_id = p_user_id
                OR s.id IN (SELECT sp.stream_id FROM lp.stream_performers AS sp WHERE sp.performer_id = p_user_id))
         ORDER BY s.id
           FOR NO KEY UPDATE OF s
    LOOP
        IF v_stream.status = 'live' THEN
            PERFORM lp.close_stream(v_stream, p_reason, 'gate');
            v_ended := v_ended + 1;
        END IF;
    END LOOP;
    RETURN v_ended;
END
$$;
COMMENT ON FUNCTION lp.end_streams_of(uuid, text) IS 'Ends every live stream the user is on camera in (host or co-performer), with the reason, as the go-live gate no longer holds for them (api.sanction_user, api.set_user_role, api.delete_user). Returns how many it ended.';
REVOKE ALL ON FUNCTION lp.end_streams_of(uuid, text) FROM PUBLIC;
