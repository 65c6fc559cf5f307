CREATE FUNCTION api.cancel_tip_goal(p_goal_id uuid, p_reason text DEFAULT NULL) RETURNS lp.tip_goals
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_reason text := lp.check_text(p_reason, 'reason', 1000);
    v_goal   lp.tip_goals;
    v_host   uuid;
    v_by     text;
BEGIN
    -- Lock order: the goal's stream row first (FOR SHARE), then the goal row (docs/ledger.md: business rows,
    -- the stream before its goals, as api.add_tip_goal, api.start_stream and api.end_stream take it). Closing
    -- the active goal activates the next queued one (lp.activate_next_goal), which must see every goal queued
    -- on the stream: api.add_tip_goal queues under the stream row FOR NO KEY UPDATE, which conflicts with FOR
    -- SHARE, so an add in flight commits first (and its goal is seen here) or waits for this cancel (and then
    -- finds no active goal and activates its own). Tips and the settle job also hold the stream FOR SHARE:
    -- neither waits for a cancel, nor it for them.
    -- A goal of a stream the acting user may not see (lp.stream_visible's rule, a deleted stream to staff only,
    -- written out here so that it is checked again on the row as it is once locked, as lp.lock_stream does) is
    -- not found, as one that does not exist: LP003 before LP002 or LP004, which would tell that it exists and
    -- its state; and its stream row is neither locked nor waited for.
    SELECT s.host_id INTO v_host
      FROM lp.streams AS s
     WHERE s.id = (SELECT g.stream_id FROM lp.tip_goals AS g WHERE g.id = p_goal_id)
       AND (coalesce(lp.current_user_role() IN ('moderator', 'admin'), false)
            OR (s.deleted_at IS NULL
                AND (s.visibility = 'public' OR s.host_id = v_actor
                     OR EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                                 WHERE sp.stream_id = s.id AND sp.performer_id = v_actor))))
       FOR SHARE OF s;
    IF v_host IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'goal not found';
    END IF;
    IF v_host <> v_actor THEN
        IF lp.current_user_role() IS DISTINCT FROM 'admin' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only the host or an admin can cancel a goal';
        END IF;
        IF v_reason IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'an admin cancelling someone''s goal gives a reason';
        END IF;
    END IF;
    SELECT g.* INTO v_goal FROM lp.tip_goals AS g WHERE g.id = p_goal_id FOR NO KEY UPDATE;
    IF v_goal.status NOT IN ('queued', 'active') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = format('a %s goal cannot be cancelled', v_goal.status);
    END IF;
    -- Who cancelled it goes on the row (closed_by) as well as into the audit row, which expires: the host's
    -- erasure keeps an admin's reason and blanks the host's own.
    v_by := CASE WHEN v_host = v_actor THEN 'host' ELSE 'admin' END;
    v_goal := lp.close_goal(v_goal, 'cancelled', v_reason, v_by);
    PERFORM lp.audit('goal.cancel', 'tip_goal', v_goal.id::text, jsonb_build_object('reason', v_reason, 'by', v_by));
    RETURN v_goal;
END
$$;
COMMENT ON FUNCTION api.cancel_tip_goal(uuid, text) IS 'The host (reason optional) or an admin (reason required) cancels a queued or active goal: an active one makes way for the next queued goal (the stream row is held FOR SHARE first, then the goal: a goal added meanwhile is seen), and its escrowed tips (refund_if_missed) go back to their senders at the next api.settle_tip_goals. LP003 unknown goal, or one of a stream the acting user may not see (lp.stream_visible: checked before, and on, the stream row locked), LP002 neither host nor admin, LP004 already closed, LP018 an admin without a reason. Who cancelled it (host or admin) is kept as closed_by. Audited (goal.cancel).';
REVOKE ALL ON FUNCTION api.cancel_tip_goal(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.cancel_tip_goal(uuid, text) TO livepanty_app, livepanty_service;
