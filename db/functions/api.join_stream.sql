CREATE FUNCTION api.join_stream(p_stream_id uuid, p_ip_address inet DEFAULT NULL) RETURNS api.viewing
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user    uuid := lp.require_user();
    v_stream  lp.streams;
    v_born    date;
    v_session lp.stream_viewers;
    v_first   boolean;
    v_viewers integer;
BEGIN
    -- FOR SHARE: joins do not wait for one another, but api.end_stream (FOR NO KEY UPDATE) waits for the joins in
    -- flight and they for it, so no session opens on a stream that has just ended. Only a public stream: any
    -- other is LP003 below, and its row is neither locked nor waited for (a wait would tell that it exists).
    SELECT s.* INTO v_stream FROM lp.streams AS s
     WHERE s.id = p_stream_id AND s.deleted_at IS NULL AND s.visibility = 'public'
       FOR SHARE;
    IF v_stream.id IS NULL OR v_stream.visibility <> 'public' THEN
        -- Private and group streams are joined through their shows (not yet built): not visible here.
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'stream not found';
    END IF;
    IF v_stream.status <> 'live' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP104', MESSAGE = 'the stream is not live',
            DETAIL = format('stream status %s', v_stream.status);
    END IF;
    IF v_stream.host_id = v_user THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the host does not join their own stream as a viewer';
    END IF;
    PERFORM lp.assert_not_sanctioned(v_user);
    SELECT u.date_of_birth INTO v_born FROM lp.users AS u WHERE u.id = v_user;
    IF v_born > current_date - make_interval(years => (lp.setting('auth.minimum_age_years'))::integer) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP013', MESSAGE = 'viewers must be adults';
    END IF;
    -- A block keeps a user out, never staff (a block made before they became staff included).
    IF EXISTS (SELECT 1 FROM lp.performer_blocks AS b WHERE b.performer_id = v_stream.host_id AND b.blocked_id = v_user)
       AND NOT coalesce(lp.current_user_role() IN ('moderator', 'admin'), false) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP124', MESSAGE = 'the performer has blocked this user';
    END IF;

    -- Already watching (another tab, a reconnect): the same session, alive again.
    UPDATE lp.stream_viewers AS v SET last_heartbeat_at = greatest(v.last_heartbeat_at, now())
     WHERE v.stream_id = v_stream.id AND v.user_id = v_user AND v.left_at IS NULL
    RETURNING v.* INTO v_session;
    IF v_session.id IS NOT NULL THEN
        v_viewers := (SELECT greatest(sum(c.current_viewers), 0)::integer FROM lp.stream_counters AS c
                       WHERE c.stream_id = v_stream.id);
    ELSE
        BEGIN
            INSERT INTO lp.stream_viewers (stream_id, user_id, ip_address) VALUES (v_stream.id, v_user, p_ip_address)
            RETURNING * INTO v_session;
            -- A first-time viewer? Asked after the insert, in a new snapshot: a session of the same user opened
            -- (and perhaps closed) by a join that committed while this one ran is seen, so it is counted once.
            -- (Asked before the insert, a snapshot older than that commit counted the user twice.)
            v_first := NOT EXISTS (SELECT 1 FROM lp.stream_viewers AS v
                                    WHERE v.stream_id = v_stream.id AND v.user_id = v_user AND v.id <> v_session.id);
            v_viewers := lp.count_viewers(v_stream.id, 1, p_joins => 1, p_unique => v_first::integer);
        EXCEPTION WHEN unique_violation THEN
            -- The same user joined from elsewhere at the same moment and that join committed (the insert waited
            -- for it): one session, the one it opened (and counted).
            UPDATE lp.stream_viewers AS v SET last_heartbeat_at = greatest(v.last_heartbeat_at, now())
             WHERE v.stream_id = v_stream.id AND v.user_id = v_user AND v.left_at IS NULL
            RETURNING v.* INTO v_session;
            v_viewers := (SELECT greatest(sum(c.current_viewers), 0)::integer FROM lp.stream_counters AS c
                           WHERE c.stream_id = v_stream.id);
        END;
    END IF;
    RETURN ROW(v_session.id, v_session.stream_id, v_session.joined_at, v_session.last_heartbeat_at, v_session.left_at,
               v_viewers)::api.viewing;
END
$$;
COMMENT ON FUNCTION api.join_stream(uuid, inet) IS 'The acting user starts watching a live public stream (optional IP address, kept from everyone but the owner). Joining again while watching returns the same session, alive again. Refused: LP003 unknown, deleted or not public, LP104 not live, LP018 the host themselves, LP022 suspended or banned, LP013 under auth.minimum_age_years, LP124 blocked by the performer (never staff). The viewer counters count the join (and a first-time viewer); two joins of the same user at the same instant make one session.';
REVOKE ALL ON FUNCTION api.join_stream(uuid, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.join_stream(uuid, inet) TO livepanty_app, livepanty_service;
