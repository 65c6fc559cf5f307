CREATE FUNCTION api.add_tip_goal(
    p_stream_id        uuid,
    p_target_tokens    bigint,
    p_description      text,
    p_deadline         timestamptz DEFAULT NULL,
    p_refund_if_missed boolean DEFAULT false
) RETURNS lp.tip_goals
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_host        uuid := lp.require_user('performer');
    v_description text := lp.check_text(p_description, 'description', 200, true);
    v_stream      lp.streams;
    v_goal        lp.tip_goals;
    v_count       integer;
BEGIN
    PERFORM lp.check_tokens(p_target_tokens, 'target');
    IF p_deadline IS NOT NULL AND p_deadline <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the deadline must be in the future';
    END IF;
    IF p_refund_if_missed IS NULL OR (p_refund_if_missed AND p_deadline IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'a goal refunded if missed needs a deadline';
    END IF;
    -- The stream row first (lp.lock_stream), as every stream transition: goals queue under it.
    v_stream := lp.lock_stream(p_stream_id, ARRAY['scheduled', 'live'], 'take a goal', v_host);
    SELECT count(*)::integer INTO v_count FROM lp.tip_goals AS g WHERE g.stream_id = v_stream.id;
    IF v_count >= (lp.setting('goals.max_per_stream'))::integer THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the stream has as many goals as it may',
            DETAIL = format('at most %s (goals.max_per_stream)', lp.setting('goals.max_per_stream'));
    END IF;
    INSERT INTO lp.tip_goals (stream_id, position, description, target_tokens, deadline, refund_if_missed)
    VALUES (v_stream.id, v_count + 1, v_description, p_target_tokens, p_deadline, p_refund_if_missed)
    RETURNING * INTO v_goal;
    -- On a live stream without an active goal, it is active at once.
    IF (lp.activate_next_goal(v_stream.id)).id IS NOT NULL THEN
        SELECT g.* INTO v_goal FROM lp.tip_goals AS g WHERE g.id = v_goal.id;
    END IF;
    PERFORM lp.audit('goal.add', 'tip_goal', v_goal.id::text,
                     jsonb_build_object('stream_id', v_stream.id, 'target', p_target_tokens, 'deadline', p_deadline,
                                        'refund_if_missed', p_refund_if_missed));
    RETURN v_goal;
END
$$;
COMMENT ON FUNCTION api.add_tip_goal(uuid, bigint, text, timestamptz, boolean) IS 'The host queues a tip goal on their scheduled or live stream: target in tokens, description (200 characters), optional deadline (in the future), and refund_if_missed (needs a deadline: tips toward the goal wait in escrow and go back to their senders if it is not reached in time). The first queued goal becomes active when the stream is live and has no active goal. At most goals.max_per_stream goals per stream. LP002 not the host, LP003 unknown stream, LP004 ended or cancelled stream, LP018 bad description, deadline or too many goals, LP103 bad target. Audited (goal.add).';
REVOKE ALL ON FUNCTION api.add_tip_goal(uuid, bigint, text, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.add_tip_goal(uuid, bigint, text, timestamptz, boolean) TO livepanty_app, livepanty_service;
