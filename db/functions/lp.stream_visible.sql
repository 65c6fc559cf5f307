CREATE FUNCTION lp.stream_visible(p_stream_id uuid, p_actor uuid) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- Who may see that a stream exists (api.get_stream's rule): anyone signed in for a public stream; for a
    -- private or group one, its host, its co-performers and staff. A deleted stream (deleted_at: "hidden from
    -- everyone but moderators and admins", as row level security has it) only staff. Everyone else is told it
    -- does not exist.
    SELECT EXISTS (SELECT 1 FROM lp.streams AS s
                    WHERE s.id = p_stream_id
                      AND (coalesce(lp.current_user_role() IN ('moderator', 'admin'), false)
                           OR (s.deleted_at IS NULL
                               AND (s.visibility = 'public' OR s.host_id = p_actor
                                    OR EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                                                WHERE sp.stream_id = s.id AND sp.performer_id = p_actor)))))
$$;
COMMENT ON FUNCTION lp.stream_visible(uuid, uuid) IS 'Whether user p_actor may see that stream p_stream_id exists: not deleted, and public or they host it or perform in it; or they are staff (a deleted stream too) (api.get_stream''s rule). Functions that take a stream id answer LP003 for a stream this is false for, as for one that does not exist.';
REVOKE ALL ON FUNCTION lp.stream_visible(uuid, uuid) FROM PUBLIC;
