CREATE FUNCTION lp.close_goal(p_goal lp.tip_goals, p_status text, p_reason text DEFAULT NULL,
                              p_by text DEFAULT 'system') RETURNS lp.tip_goals
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_goal     lp.tip_goals;
    v_progress record;
BEGIN
    -- Closes a queued or active goal the caller holds (reached, missed or cancelled), with an event, and lets
    -- the next queued goal of a live stream become active. The caller took the goal's stream row first (FOR
    -- SHARE at least, lp.activate_next_goal), then the goal row. Escrowed tips of a refund_if_missed goal are paid
    -- out or back by api.settle_tip_goals, not here (no wallet is touched while a goal row is held). Who closed
    -- it stays on the row (p_by: host or admin, api.cancel_tip_goal; system, every other closer): the host's
    -- erasure reads it to tell the reason the host wrote from an admin's and the system's codes.
    UPDATE lp.tip_goals AS g
       SET status = p_status::lp.goal_status, closed_at = now(), close_reason = p_reason, closed_by = p_by
     WHERE g.id = p_goal.id AND g.status IN ('queued', 'active')
    RETURNING g.* INTO v_goal;
    IF v_goal.id IS NULL THEN
        RETURN NULL;
    END IF;
    IF p_goal.status = 'active' THEN
        v_progress := lp.goal_progress(v_goal.id);
        PERFORM lp.emit_event(v_goal.stream_id, ('goal_' || p_status)::lp.stream_event_kind,
            jsonb_build_object('goal_id', v_goal.id, 'description', v_goal.description, 'target', v_goal.target_tokens,
                               'progress', v_progress.tokens, 'tips', v_progress.tips, 'reason', p_reason,
                               'refunded', v_goal.refund_if_missed AND p_status <> 'reached'));
        PERFORM lp.activate_next_goal(v_goal.stream_id);
    END IF;
    RETURN v_goal;
END
$$;
COMMENT ON FUNCTION lp.close_goal(lp.tip_goals, text, text, text) IS 'Closes a queued or active goal the caller has locked as reached, missed or cancelled (with a reason, and who: p_by host, admin or system, the default, kept as closed_by); for an active one, a goal_reached / goal_missed / goal_cancelled event with its progress, and the next queued goal becomes active. NULL when the goal was already closed.';
REVOKE ALL ON FUNCTION lp.close_goal(lp.tip_goals, text, text, text) FROM PUBLIC;
