CREATE FUNCTION lp.end_streams_of(p_user_id uuid, p_why text, p_public_reason text DEFAULT 'go-live gate')
    RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_stream lp.streams;
    v_ended  integer := 0;
BEGIN
    -- The go-live gate holds for as long as a stream is live: when a performer on camera (the host or a
    -- co-performer) is banned or suspended, loses their identity verification, stops being a performer or is
    -- deleted, their live streams end now.
    -- Scheduled ones are locked too (and left scheduled): an api.start_stream in flight either committed
    -- first (its stream is found live here, after the wait, and ended) or waits for this transaction and
    -- then finds the gate closed. Lock order: the user's row and sessions (callers), then streams in id order.
    -- What viewers read (the stream's end_reason, its stream_ended event) is p_public_reason, by default only
    -- that the gate ended it: a performer's sanction, verification or role is nobody else's business. Who and
    -- why (p_why) go into the stream.end audit row (staff), by user id, as lp.end_ungated_streams writes them.
    FOR v_stream IN
        SELECT s.* FROM lp.streams AS s
         WHERE s.status IN ('scheduled', 'live') AND s.deleted_at IS NULL
           AND (s.host_id = p_user_id
                OR s.id IN (SELECT sp.stream_id FROM lp.stream_performers AS sp WHERE sp.performer_id = p_user_id))
         ORDER BY s.id
           FOR NO KEY UPDATE OF s
    LOOP
        IF v_stream.status = 'live' THEN
            PERFORM lp.close_stream(v_stream, p_public_reason, 'gate',
                                    jsonb_build_object('gaps', jsonb_build_array(
                                        jsonb_build_object('user_id', p_user_id, 'lacks', p_why))));
            v_ended := v_ended + 1;
        END IF;
    END LOOP;
    RETURN v_ended;
END
$$;
COMMENT ON FUNCTION lp.end_streams_of(uuid, text, text) IS 'Ends every live stream the user is on camera in (host or co-performer), as the go-live gate no longer holds for them (lp.issue_sanction, api.set_user_role, api.expire_kyc_approvals, api.delete_user, lp.erase). The stream''s end_reason and stream_ended event say p_public_reason (default ''go-live gate''; an account''s deletion or erasure passes its own); p_why (what changed, e.g. ''performer ban'') goes only into the stream.end audit row, as {gaps: [{user_id, lacks}]}. Returns how many it ended.';
REVOKE ALL ON FUNCTION lp.end_streams_of(uuid, text, text) FROM PUBLIC;
