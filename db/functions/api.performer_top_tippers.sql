CREATE FUNCTION api.performer_top_tippers(p_performer_id uuid, p_period text DEFAULT 'week', p_limit integer DEFAULT 10)
RETURNS TABLE (
    rank        bigint,
    tipper_id   uuid,
    tipper_name text,
    anonymous   boolean,
    tokens      bigint,
    tips        bigint
)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor    uuid;
    v_is_admin boolean;
    v_staff    boolean;
    v_own      boolean;
    v_since    timestamptz;
BEGIN
    v_actor := lp.require_user();
    v_is_admin := lp.current_user_role() IS NOT DISTINCT FROM 'admin';
    -- Staff see every stream, a deleted one too (lp.stream_visible), so every tip. The performer reads every
    -- leaderboard of her streams (api.stream_top_tippers' rule) but a deleted one's: it is hidden from her too.
    v_staff := coalesce(lp.current_user_role() IN ('moderator', 'admin'), false);
    v_own := v_actor = p_performer_id;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 100';
    END IF;
    PERFORM lp.check_choice(p_period, 'lp.leaderboard_period', 'period');
    v_since := CASE p_period::lp.leaderboard_period
                   WHEN 'day' THEN now() - interval '1 day'
                   WHEN 'week' THEN now() - interval '7 days'
                   WHEN 'month' THEN now() - interval '30 days'
                   ELSE '-infinity'::timestamptz
               END;
    IF NOT EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = p_performer_id AND u.deleted_at IS NULL AND u.role = 'performer') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'performer not found';
    END IF;
    -- The performer's tips of the period, read through tips_recipient_idx (recipient, created_at): never a scan
    -- of all tips. A sender's anonymous and named tips are ranked apart, as in api.stream_top_tippers. Only the
    -- tips the reader could find on a stream's own leaderboard (api.stream_top_tippers' rule: a public stream,
    -- or one they host, not deleted) or naming no stream: a private stream's tippers are not told to others
    -- here, nor a deleted stream's to anyone but staff (the stream is gone: lp.stream_visible's rule).
    RETURN QUERY
    SELECT row_number() OVER (ORDER BY a.tokens DESC, a.first_tip, a.sender_id),
           CASE WHEN NOT a.is_anonymous OR v_is_admin THEN a.sender_id END,
           CASE WHEN NOT a.is_anonymous OR v_is_admin THEN coalesce(u.display_name, u.username::text) ELSE 'anonymous' END,
           a.is_anonymous, a.tokens, a.n
      FROM (SELECT t.sender_id, t.is_anonymous, sum(t.amount)::bigint AS tokens, count(*) AS n,
                   min(t.created_at) AS first_tip
              FROM lp.tips AS t
             WHERE t.recipient_id = p_performer_id AND t.created_at > v_since AND t.status = 'completed'
               AND (v_staff OR t.stream_id IS NULL
                    OR EXISTS (SELECT 1 FROM lp.streams AS s
                                WHERE s.id = t.stream_id AND s.deleted_at IS NULL
                                  AND (v_own OR s.visibility = 'public' OR s.host_id = v_actor)))
             GROUP BY t.sender_id, t.is_anonymous) AS a
      JOIN lp.users AS u ON u.id = a.sender_id
     ORDER BY 1
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.performer_top_tippers(uuid, text, integer) IS 'A performer''s leaderboard for any signed-in user: tippers by tokens tipped to the performer (completed tips naming no stream, or a stream whose own leaderboard the reader may read: a public one, for the performer any; none of a deleted stream, except for staff, who get every tip) over the last day, week (7 days), month (30 days) or all time, at most p_limit (1..100). Anonymous tips are ranked apart and shown without id, as "anonymous", to everyone but admins (the performer included). Read from tips_recipient_idx. LP001 nobody acting, LP003 no such performer, LP018 bad period or limit.';
REVOKE ALL ON FUNCTION api.performer_top_tippers(uuid, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.performer_top_tippers(uuid, text, integer) TO livepanty_app, livepanty_service;
