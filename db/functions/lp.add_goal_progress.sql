CREATE FUNCTION lp.add_goal_progress(p_goal_id uuid, p_tokens bigint, p_tips integer) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_shard smallint;
BEGIN
    -- The one writer of lp.tip_goal_progress: adds tips to one progress row of an active goal and returns the
    -- goal's progress as this transaction sees it. A row nobody holds (pick and write in one statement, as
    -- lp.count_viewers does); only when every row is busy, queue behind a random one. Taken last in a tip,
    -- one row at a time, and nothing that holds a progress row waits for a wallet: no lock cycle through them.
    WITH free AS MATERIALIZED (
        SELECT p.shard FROM lp.tip_goal_progress AS p
         WHERE p.goal_id = p_goal_id
         ORDER BY p.shard
         LIMIT 1
           FOR NO KEY UPDATE SKIP LOCKED
    )
    UPDATE lp.tip_goal_progress AS p SET tokens = p.tokens + p_tokens, tips = p.tips + p_tips
      FROM free
     WHERE p.goal_id = p_goal_id AND p.shard = free.shard
    RETURNING p.shard INTO v_shard;
    IF v_shard IS NULL THEN
        SELECT p.shard INTO v_shard FROM lp.tip_goal_progress AS p WHERE p.goal_id = p_goal_id ORDER BY random() LIMIT 1;
        IF v_shard IS NULL THEN
            RETURN NULL;  -- never active: nothing to count on
        END IF;
        UPDATE lp.tip_goal_progress AS p SET tokens = p.tokens + p_tokens, tips = p.tips + p_tips
         WHERE p.goal_id = p_goal_id AND p.shard = v_shard;
    END IF;
    RETURN (SELECT sum(p.tokens)::bigint FROM lp.tip_goal_progress AS p WHERE p.goal_id = p_goal_id);
END
$$;
COMMENT ON FUNCTION lp.add_goal_progress(uuid, bigint, integer) IS 'The one writer of goal progress: adds p_tokens and p_tips to one free progress row of the goal (hot-row spreading) and returns the goal''s progress as the caller sees it (NULL for a goal without progress rows).';
REVOKE ALL ON FUNCTION lp.add_goal_progress(uuid, bigint, integer) FROM PUBLIC;
