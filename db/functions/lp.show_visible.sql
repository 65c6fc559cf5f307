CREATE FUNCTION lp.show_visible(p_show_id uuid, p_actor uuid) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- Who may see that a show exists: who is party to it (the host of its stream, a co-performer, staff, and
    -- whoever takes or took part in it), and anyone signed in for a show open to join or running in a public
    -- stream (what api.stream_shows lists to every viewer). Everyone else is told it does not exist: a show of a
    -- private stream (lp.stream_visible), another viewer's private show request, a show that is over. A show of
    -- a deleted stream (lp.streams.deleted_at) is seen by staff only, as the stream.
    SELECT EXISTS (SELECT 1 FROM lp.shows AS x
                     JOIN lp.streams AS s ON s.id = x.stream_id
                    WHERE x.id = p_show_id
                      AND (coalesce(lp.current_user_role() IN ('moderator', 'admin'), false)
                           OR (s.deleted_at IS NULL
                               AND (s.host_id = p_actor
                                    OR EXISTS (SELECT 1 FROM lp.stream_performers AS sp
                                                WHERE sp.stream_id = s.id AND sp.performer_id = p_actor)
                                    OR EXISTS (SELECT 1 FROM lp.show_participants AS p
                                                WHERE p.show_id = x.id AND p.user_id = p_actor)
                                    OR (s.visibility = 'public' AND x.status IN ('open', 'running'))))))
$$;
COMMENT ON FUNCTION lp.show_visible(uuid, uuid) IS 'Whether user p_actor may see that show p_show_id exists: they are staff; or its stream is not deleted and they host it, perform in it or take (or took) part in the show, or the show is open or running in a public stream (what api.stream_shows lists to any viewer). Functions that take a show id answer LP003 for a show this is false for, as for one that does not exist (lp.lock_show, api.join_show).';
REVOKE ALL ON FUNCTION lp.show_visible(uuid, uuid) FROM PUBLIC;
