CREATE FUNCTION api.stream_goals(p_stream_id uuid)
RETURNS TABLE (
    id               uuid,
    "position"       integer,
    description      text,
    target_tokens    bigint,
    progress_tokens  bigint,
    tips_count       integer,
    deadline         timestamptz,
    refund_if_missed boolean,
    status           text,
    activated_at     timestamptz,
    closed_at        timestamptz,
    close_reason     text,
    settled_at       timestamptz
)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_stream lp.streams;
BEGIN
    SELECT s.* INTO v_stream FROM lp.streams AS s WHERE s.id = p_stream_id
       AND (s.deleted_at IS NULL OR coalesce(lp.current_user_role() IN ('moderator', 'admin'), false));  -- a deleted stream: staff only
    IF v_stream.id IS NULL
       OR (v_stream.visibility <> 'public' AND v_stream.host_id <> v_actor
           AND NOT EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                            WHERE sp.stream_id = v_stream.id AND sp.performer_id = v_actor)
           AND coalesce(lp.current_user_role(), '') NOT IN ('moderator', 'admin')) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
    END IF;
    RETURN QUERY
    SELECT g.id, g.position, g.description, g.target_tokens, p.tokens, p.tips, g.deadline, g.refund_if_missed,
           g.status::text, g.activated_at, g.closed_at, g.close_reason, g.settled_at
      FROM lp.tip_goals AS g
     CROSS JOIN LATERAL lp.goal_progress(g.id) AS p
     WHERE g.stream_id = v_stream.id
     ORDER BY g.position;
END
$$;
COMMENT ON FUNCTION api.stream_goals(uuid) IS 'A stream''s tip goals in queue order, with their progress (tokens and tips counted toward each): visible like the stream (public ones to any signed-in user, others to the host, co-performers and staff). LP001 nobody acting, LP003 unknown or not visible stream.';
REVOKE ALL ON FUNCTION api.stream_goals(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.stream_goals(uuid) TO livepanty_app, livepanty_service;
