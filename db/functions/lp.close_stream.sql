CREATE FUNCTION lp.close_stream(p_stream lp.streams, p_reason text, p_by text, p_detail jsonb DEFAULT NULL)
    RETURNS lp.streams
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_stream lp.streams;
BEGIN
    -- The end of a stream, whoever ends it (p_by: host, admin, or gate when the go-live gate no longer holds).
    -- The caller holds the stream row (lp.lock_stream or FOR NO KEY UPDATE) and it is scheduled or live.
    -- p_by stays on the row (ended_by): the event and the audit row that also say it expire, and the host's
    -- erasure reads it to tell the reason the host wrote from staff's and the system's.
    IF p_stream.status = 'scheduled' THEN
        UPDATE lp.streams AS s SET status = 'cancelled', end_reason = p_reason, ended_by = p_by, stream_key_hash = NULL
         WHERE s.id = p_stream.id
        RETURNING * INTO v_stream;
    ELSE
        -- Every open viewing session ends with the stream; then the final statistics, from what the stream
        -- recorded (viewing sessions, tips that named it). Tips naming the stream hold it FOR SHARE until they
        -- commit, so the caller's lock waited for those in flight and every one of them is counted here.
        UPDATE lp.stream_viewers AS v SET left_at = greatest(now(), v.last_heartbeat_at)
         WHERE v.stream_id = p_stream.id AND v.left_at IS NULL;
        UPDATE lp.streams AS s
           -- greatest: an ending transaction may have begun before the start it waited for committed (a
           -- sanction locking the stream behind api.start_stream), and now() is when a transaction began.
           SET status = 'ended', ended_at = greatest(now(), s.started_at), end_reason = p_reason, ended_by = p_by,
               stream_key_hash = NULL, listed_viewers = 0,
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
         WHERE s.id = p_stream.id
        RETURNING * INTO v_stream;
        PERFORM lp.emit_event(v_stream.id, 'stream_ended',
            jsonb_build_object('ended_at', v_stream.ended_at, 'reason', p_reason, 'by', p_by,
                               'unique_viewers', v_stream.unique_viewers, 'tips_count', v_stream.tips_count));
    END IF;
    -- Its goals close with it: the active one is reached if its progress got there (two tips crossing it at
    -- once may have left that to the settle job), else missed (its escrowed tips go back at the next
    -- api.settle_tip_goals); the queued ones are cancelled. After the status change: no next goal starts.
    PERFORM lp.close_goal(g, CASE WHEN g.status = 'queued' THEN 'cancelled'
                                  WHEN (lp.goal_progress(g.id)).tokens >= g.target_tokens THEN 'reached'
                                  ELSE 'missed' END,
                          CASE WHEN g.status = 'queued' OR (lp.goal_progress(g.id)).tokens < g.target_tokens
                               THEN 'stream ended' END,
                          'system')
       FROM (SELECT q.* FROM lp.tip_goals AS q
              WHERE q.stream_id = v_stream.id AND q.status IN ('queued', 'active')
              ORDER BY q.position
                FOR NO KEY UPDATE) AS g;
    -- Its shows end with it, as the performer's doing (only completed minutes are billed; shows that had not
    -- run are cancelled and their reservations released by api.bill_shows).
    PERFORM lp.finish_show(s, CASE WHEN s.status = 'running' THEN 'ended' ELSE 'cancelled' END, 'host',
                           'stream ended')
       FROM (SELECT q.* FROM lp.shows AS q
              WHERE q.stream_id = v_stream.id AND q.status IN ('requested', 'open', 'running')
              ORDER BY q.id
                FOR NO KEY UPDATE) AS s;
    -- p_detail: what only staff may read (the audit trail), never the stream's row or its events, which viewers
    -- read: the go-live gate's who lacks what, by user id.
    PERFORM lp.audit('stream.end', 'stream', v_stream.id::text,
                     jsonb_build_object('status', v_stream.status, 'reason', p_reason, 'by', p_by)
                     || coalesce(p_detail, '{}'::jsonb));
    RETURN v_stream;
END
$$;
COMMENT ON FUNCTION lp.close_stream(lp.streams, text, text, jsonb) IS 'Ends a live stream (status ended: open viewing sessions closed, ingest key gone, final statistics written, a stream_ended event) or cancels a scheduled one, for api.end_stream and lp.end_streams_of. The caller holds the stream row. p_by (host, admin, gate) goes into the row (ended_by), the event and the audit row (stream.end); p_reason is public (the row''s end_reason, the stream_ended event); p_detail (optional keys) goes into the audit row only.';
REVOKE ALL ON FUNCTION lp.close_stream(lp.streams, text, text, jsonb) FROM PUBLIC;
