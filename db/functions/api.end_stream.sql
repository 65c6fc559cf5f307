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
        v_admin := lp.current_user_role() = 'admin';
        IF NOT v_admin THEN
            RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only the host or an admin can end the stream';
        END IF;
        IF v_reason IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'an admin ending someone else''s stream gives a reason';
        END IF;
    END IF;

    IF v_stream.status = 'scheduled' THEN
        UPDATE lp.streams AS s SET status = 'cancelled', end_reason = v_reason, stream_key_hash = NULL
         WHERE s.id = v_stream.id
        RETURNING * INTO v_stream;
    ELSE
        -- Every open viewing session ends with the stream; then the final statistics, from what the stream
        -- recorded (viewing sessions, tips that named it).
        UPDATE lp.stream_viewers AS v SET left_at = greatest(now(), v.last_heartbeat_at)
         WHERE v.stream_id = v_stream.id AND v.left_at IS NULL;
        UPDATE lp.streams AS s
           SET status = 'ended', ended_at = now(), end_reason = v_reason, stream_key_hash = NULL, listed_viewers = 0,
               peak_viewers   = greatest(s.peak_viewers,
                                         (SELECT coalesce(max(c.peak_seen), 0) FROM lp.stream_counters AS c
                                           WHERE c.stream_id = s.id)),
               unique_viewers = (SELECT count(DISTINCT v.user_id) FROM lp.stream_viewers AS v
                                  WHERE v.stream_id = s.id),
               watch_seconds  = (SELECT coalesce(sum(floor(extract(epoch FROM v.left_at - v.joined_at))), 0)
                                   FROM lp.stream_viewers AS v WHERE v.stream_id = s.id),
               tips_count     = (SELECT count(*) FROM lp.tips AS t WHERE t.stream_id = s.id AND t.status = 'completed'),
               tips_tokens    = (SELECT coalesce(sum(t.amount), 0) FROM lp.tips AS t
                                  WHERE t.stream_id = s.id AND t.status = 'completed')
         WHERE s.id = v_stream.id
        RETURNING * INTO v_stream;
    END IF;
    IF v_stream.status = 'ended' THEN
        -- Ended by an admin: a moderation action, and the event says so.
        PERFORM lp.emit_event(v_stream.id, 'stream_ended',
            jsonb_build_object('ended_at', v_stream.ended_at, 'reason', v_reason,
                               'by', CASE WHEN v_stream.host_id = v_actor THEN 'host' ELSE 'admin' END,
                               'unique_viewers', v_stream.unique_viewers, 'tips_count', v_stream.tips_count));
    END IF;
    PERFORM lp.audit('stream.end', 'stream', v_stream.id::text,
                     jsonb_build_object('status', v_stream.status, 'reason', v_reason,
                                        'by', CASE WHEN v_stream.host_id = v_actor THEN 'host' ELSE 'admin' END));
    RETURN lp.stream_info(v_stream);
END
$$;
COMMENT ON FUNCTION api.end_stream(uuid, text) IS 'Ends a live stream (status ended: every open viewing session is closed, the ingest key stops working, and the final statistics are written: unique viewers, watch time, tips and their tokens) or cancels a scheduled one (status cancelled). The host may, with an optional reason; an admin may end anyone''s stream and must give a reason (1000 characters). LP003 unknown stream, LP002 neither the host nor an admin, LP004 already ended or cancelled, LP018 an admin without a reason. Audited (stream.end).';
REVOKE ALL ON FUNCTION api.end_stream(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.end_stream(uuid, text) TO livepanty_app, livepanty_service;
