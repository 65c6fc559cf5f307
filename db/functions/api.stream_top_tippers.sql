CREATE FUNCTION api.stream_top_tippers(p_stream_id uuid, p_limit integer DEFAULT 10)
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
    v_actor  uuid := lp.require_user();
    v_admin  boolean := lp.current_user_role() IS NOT DISTINCT FROM 'admin';
    v_stream lp.streams;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 100';
    END IF;
    -- Who may see the stream (lp.stream_visible: public, or they host it or perform in it, or staff; a deleted
    -- one staff only) reads its leaderboard; to anyone else it does not exist.
    SELECT s.* INTO v_stream FROM lp.streams AS s WHERE s.id = p_stream_id;
    IF v_stream.id IS NULL OR NOT lp.stream_visible(v_stream.id, v_actor) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
    END IF;
    -- Per tipper, their anonymous and their named tips apart (an anonymous total is never put beside the
    -- name). Anonymous tippers are "anonymous" without an id to everyone but admins, the host included.
    RETURN QUERY
    SELECT row_number() OVER (ORDER BY a.tokens DESC, a.first_tip, a.sender_id),
           CASE WHEN NOT a.is_anonymous OR v_admin THEN a.sender_id END,
           CASE WHEN NOT a.is_anonymous OR v_admin THEN coalesce(u.display_name, u.username::text) ELSE 'anonymous' END,
           a.is_anonymous, a.tokens, a.n
      FROM (SELECT t.sender_id, t.is_anonymous, sum(t.amount)::bigint AS tokens, count(*) AS n,
                   min(t.created_at) AS first_tip
              FROM lp.tips AS t
             WHERE t.stream_id = v_stream.id AND t.status = 'completed'
             GROUP BY t.sender_id, t.is_anonymous) AS a
      JOIN lp.users AS u ON u.id = a.sender_id
     ORDER BY 1
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.stream_top_tippers(uuid, integer) IS 'The leaderboard of a stream the acting user may see (lp.stream_visible: public, or they host it or perform in it, or any for staff, a deleted one too): tippers by tokens tipped in it (completed tips), at most p_limit (1..100). A sender''s anonymous and named tips are ranked apart; anonymous entries carry no id and the name "anonymous" for everyone but admins, the host included. Reads the stream''s tips (tips_stream_idx). LP001 nobody acting, LP003 unknown stream or one the acting user may not see (lp.stream_visible: a deleted one only staff), LP018 bad limit.';
REVOKE ALL ON FUNCTION api.stream_top_tippers(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.stream_top_tippers(uuid, integer) TO livepanty_app, livepanty_service;
