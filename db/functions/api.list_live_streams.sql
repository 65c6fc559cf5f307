CREATE FUNCTION api.list_live_streams(
    p_category      text DEFAULT NULL,
    p_tag           text DEFAULT NULL,
    p_after_viewers integer DEFAULT NULL,
    p_after_id      uuid DEFAULT NULL,
    p_limit         integer DEFAULT 50
)
RETURNS TABLE (
    id            uuid,
    host_id       uuid,
    host_name     text,
    title         text,
    category      text,
    tags          text[],
    is_mature     boolean,
    thumbnail_url text,
    started_at    timestamptz,
    viewers       integer
)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM lp.require_user();
    RETURN QUERY SELECT * FROM lp.live_streams_page(p_category, p_tag, p_after_viewers, p_after_id, p_limit);
END
$$;
COMMENT ON FUNCTION api.list_live_streams(text, text, integer, uuid, integer) IS 'Discovery for any signed-in user: live public streams, most watched first (ties: by id, descending; viewers: the count the viewer sweep last copied), optionally of one category and with one tag; keyset pages of p_limit (1..200): pass the last row''s viewers and id as p_after_viewers and p_after_id. Reads an index in that order. LP001 nobody acting, LP018 a bad page, category or tag (the rules of api.schedule_stream).';
REVOKE ALL ON FUNCTION api.list_live_streams(text, text, integer, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_live_streams(text, text, integer, uuid, integer) TO livepanty_app, livepanty_service;
