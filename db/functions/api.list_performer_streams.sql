CREATE FUNCTION api.list_performer_streams(
    p_performer_id uuid,
    p_after_created timestamptz DEFAULT NULL,
    p_after_id     uuid DEFAULT NULL,
    p_limit        integer DEFAULT 50
) RETURNS SETOF api.stream
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor uuid := lp.require_user();
    v_all   boolean;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 200 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 200';
    END IF;
    IF (p_after_created IS NULL) <> (p_after_id IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_after_created and p_after_id go together (the last row of the previous page)';
    END IF;
    -- Who sees a stream listed: lp.stream_visible's rule (public; the host, its co-performers and staff), and
    -- deleted streams nobody. The performer and staff see every stream and anyone a public one, so only the
    -- others' non-public streams ask the rule (its co-performer part: those the acting user is on camera in).
    v_all := p_performer_id = v_actor OR coalesce(lp.current_user_role() IN ('moderator', 'admin'), false);
    -- LATERAL, not (lp.stream_info(s)).*: that form calls the function once per column.
    RETURN QUERY
    SELECT i.*
      FROM lp.streams AS s
     CROSS JOIN LATERAL lp.stream_info(s) AS i
     WHERE s.host_id = p_performer_id AND s.deleted_at IS NULL
       AND (v_all OR s.visibility = 'public' OR lp.stream_visible(s.id, v_actor))
       AND (p_after_created IS NULL OR (s.created_at, s.id) < (p_after_created, p_after_id))
     ORDER BY s.created_at DESC, s.id DESC
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_performer_streams(uuid, timestamptz, uuid, integer) IS 'A performer''s streams, newest first (scheduled, live, ended and cancelled): any signed-in user sees the public ones, a co-performer also the others they are on camera in (lp.stream_visible), the performer and staff all; deleted ones nobody. Keyset pages of p_limit (1..200): pass the last row''s created_at and id. Reads streams_host_idx in that order. LP001 nobody acting, LP018 a bad page.';
REVOKE ALL ON FUNCTION api.list_performer_streams(uuid, timestamptz, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_performer_streams(uuid, timestamptz, uuid, integer) TO livepanty_app, livepanty_service;
