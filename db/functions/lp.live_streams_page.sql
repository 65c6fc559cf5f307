CREATE FUNCTION lp.live_streams_page(
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
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- The page of api.list_live_streams without the signed-in check: a sharded installation's router asks every
-- shard for it at once (shard.live_streams) and merges the pages in the same order (docs/scale-out.md).
DECLARE
    v_tag text;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 200 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 200';
    END IF;
    -- The tag as streams store it (trimmed, lower-cased): ' Duo ' finds the streams tagged duo.
    v_tag := (lp.check_stream_fields(p_category, CASE WHEN p_tag IS NOT NULL THEN ARRAY[p_tag] END, NULL, NULL))[1];
    IF (p_after_viewers IS NULL) <> (p_after_id IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_after_viewers and p_after_id go together (the last row of the previous page)';
    END IF;
    -- Keyset pages in (viewers, id) descending order: a backward scan of streams_listing_idx (or of
    -- streams_category_listing_idx with a category) from the row after the previous page's last, whose row
    -- comparison is an index condition. The viewer count is listed_viewers, which the viewer sweep refreshes.
    RETURN QUERY
    SELECT s.id, s.host_id, coalesce(u.display_name, u.username::text), s.title, s.category, s.tags, s.is_mature,
           s.thumbnail_url, s.started_at, s.listed_viewers
      FROM lp.streams AS s
      JOIN lp.users AS u ON u.id = s.host_id
     WHERE s.status = 'live' AND s.visibility = 'public' AND s.deleted_at IS NULL
       AND (p_category IS NULL OR s.category = p_category)
       AND (v_tag IS NULL OR s.tags @> ARRAY[v_tag])
       AND (p_after_viewers IS NULL OR (s.listed_viewers, s.id) < (p_after_viewers, p_after_id))
     ORDER BY s.listed_viewers DESC, s.id DESC
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION lp.live_streams_page(text, text, integer, uuid, integer) IS 'One keyset page of live public streams, most watched first (the listing of api.list_live_streams, which checks that someone is signed in; shard.live_streams on a shard). LP018 for a bad page, category or tag. Owner only.';
REVOKE ALL ON FUNCTION lp.live_streams_page(text, text, integer, uuid, integer) FROM PUBLIC;
