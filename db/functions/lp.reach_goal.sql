CREATE FUNCTION lp.reach_goal(p_goal_id uuid) RETURNS lp.tip_goals
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_goal lp.tip_goals;
BEGIN
    -- A tip (or the settle job) saw the goal's progress at or past its target: reached, exactly once. SKIP
    -- LOCKED: the goal row is never waited for by a tip, which holds wallets by now; a goal someone else holds
    -- (another tip reaching it, the settle job, the host cancelling it) is left to them, and a crossing that
    -- two concurrent tips both missed (each saw only its own tokens) is found by api.settle_tip_goals.
    SELECT g.* INTO v_goal FROM lp.tip_goals AS g
     WHERE g.id = p_goal_id AND g.status = 'active'
       FOR NO KEY UPDATE SKIP LOCKED;
    IF v_goal.id IS NULL OR (lp.goal_progress(v_goal.id)).tokens < v_goal.target_tokens THEN
        RETURN NULL;
    END IF;
    RETURN lp.close_goal(v_goal, 'reached');
END
$$;
COMMENT ON FUNCTION lp.reach_goal(uuid) IS 'Marks an active goal whose progress is at or past its target as reached (lp.close_goal: event, next goal), unless someone else holds it right now (SKIP LOCKED). NULL when it did nothing.';
REVOKE ALL ON FUNCTION lp.reach_goal(uuid) FROM PUBLIC;
