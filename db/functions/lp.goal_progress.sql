CREATE FUNCTION lp.goal_progress(p_goal_id uuid, OUT tokens bigint, OUT tips integer)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT coalesce(sum(p.tokens), 0)::bigint, coalesce(sum(p.tips), 0)::integer
      FROM lp.tip_goal_progress AS p WHERE p.goal_id = p_goal_id
$$;
COMMENT ON FUNCTION lp.goal_progress(uuid) IS 'A goal''s progress: tokens and tips counted toward it (the sum of its progress rows).';
REVOKE ALL ON FUNCTION lp.goal_progress(uuid) FROM PUBLIC;
