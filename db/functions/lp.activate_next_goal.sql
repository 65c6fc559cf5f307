CREATE FUNCTION lp.activate_next_goal(p_stream_id uuid) RETURNS lp.tip_goals
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_goal lp.tip_goals;
BEGIN
    -- The first queued goal of a live stream with no active goal becomes active: its progress rows are made
    -- and a goal_started event says so. NULL when there is nothing to activate (or the stream is not live).
    -- The caller holds the stream row, taken before any goal row: FOR NO KEY UPDATE (api.add_tip_goal,
    -- api.start_stream, the settle job's safety net) or FOR SHARE (whoever closes the active goal: a tip,
    -- api.cancel_tip_goal, api.settle_tip_goals). The two modes conflict, so the goals queued and closed on the
    -- stream do not change under the checks below: no goal is left queued behind none.
    IF NOT EXISTS (SELECT 1 FROM lp.streams AS s WHERE s.id = p_stream_id AND s.status = 'live')
       OR EXISTS (SELECT 1 FROM lp.tip_goals AS g WHERE g.stream_id = p_stream_id AND g.status = 'active') THEN
        RETURN NULL;
    END IF;
    UPDATE lp.tip_goals AS g SET status = 'active', activated_at = now()
     WHERE g.id = (SELECT q.id FROM lp.tip_goals AS q
                    WHERE q.stream_id = p_stream_id AND q.status = 'queued'
                    ORDER BY q.position LIMIT 1
                      FOR NO KEY UPDATE)
       AND g.status = 'queued'
    RETURNING g.* INTO v_goal;
    IF v_goal.id IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO lp.tip_goal_progress (goal_id, shard)
    SELECT v_goal.id, n FROM generate_series(1, (lp.setting('streams.counter_shards'))::integer) AS n;
    PERFORM lp.emit_event(p_stream_id, 'goal_started',
        jsonb_build_object('goal_id', v_goal.id, 'description', v_goal.description, 'target', v_goal.target_tokens,
                           'deadline', v_goal.deadline, 'refund_if_missed', v_goal.refund_if_missed));
    RETURN v_goal;
END
$$;
COMMENT ON FUNCTION lp.activate_next_goal(uuid) IS 'Makes the first queued goal of a live stream without an active goal active (progress rows, goal_started event); NULL when nothing was activated.';
REVOKE ALL ON FUNCTION lp.activate_next_goal(uuid) FROM PUBLIC;
