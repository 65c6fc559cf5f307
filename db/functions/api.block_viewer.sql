CREATE FUNCTION api.block_viewer(p_user_id uuid, p_reason text DEFAULT NULL) RETURNS lp.performer_blocks
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_performer uuid := lp.require_user('performer');
    v_reason    text := lp.check_text(p_reason, 'reason', 500);
    v_block     lp.performer_blocks;
    v_stream    uuid;
    v_show      lp.shows;
    v_part      lp.show_participants;
BEGIN
    IF p_user_id = v_performer THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'nobody blocks themselves';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = p_user_id AND u.deleted_at IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    -- Staff watch any stream (a report, a flag): a performer cannot keep moderation out.
    IF EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = p_user_id AND u.role IN ('moderator', 'admin')) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'moderators and admins cannot be blocked',
            HINT = 'Report a staff member''s conduct instead (api.report).';
    END IF;
    INSERT INTO lp.performer_blocks (performer_id, blocked_id, reason) VALUES (v_performer, p_user_id, v_reason)
    ON CONFLICT (performer_id, blocked_id) DO UPDATE SET reason = coalesce(EXCLUDED.reason, lp.performer_blocks.reason)
    RETURNING * INTO v_block;
    -- Out of the performer's live stream at once. The stream row FOR NO KEY UPDATE first: a join in flight
    -- (it holds the row FOR SHARE) commits before, and its session is closed here; a later join waits for this
    -- block and then sees it (LP124). Tips naming the stream likewise.
    FOR v_stream IN SELECT s.id FROM lp.streams AS s
                     WHERE s.host_id = v_performer AND s.status = 'live' AND s.deleted_at IS NULL
                     ORDER BY s.id
                       FOR NO KEY UPDATE LOOP
        IF (lp.close_viewing(v_stream, p_user_id)).id IS NOT NULL THEN
            -- A moderation action on the stream, for its listeners; who was removed is not said (the block
            -- list is the host's and staff's to read).
            PERFORM lp.emit_event(v_stream, 'moderation', jsonb_build_object('action', 'viewer_removed'));
        END IF;
        -- Out of the stream's shows too, as the host's doing (completed minutes only; a private show they asked
        -- for or pay for ends): the stream's show rows, then their part (the order of lp.close_stream).
        FOR v_show IN SELECT sh.* FROM lp.shows AS sh
                       WHERE sh.stream_id = v_stream AND sh.status IN ('requested', 'open', 'running')
                       ORDER BY sh.id
                         FOR NO KEY UPDATE LOOP
            SELECT p.* INTO v_part FROM lp.show_participants AS p
             WHERE p.show_id = v_show.id AND p.user_id = p_user_id AND p.left_at IS NULL
               FOR NO KEY UPDATE;
            CONTINUE WHEN v_part.id IS NULL;
            PERFORM lp.close_participation(v_part, v_show, now(), 'host');
            IF v_show.show_type = 'private' AND v_part.role = 'payer' THEN
                PERFORM lp.finish_show(v_show, CASE v_show.status WHEN 'running' THEN 'ended' WHEN 'requested' THEN 'declined'
                                                                  ELSE 'cancelled' END, 'host', 'viewer blocked');
            END IF;
        END LOOP;
    END LOOP;
    PERFORM lp.audit('stream.block', 'user', p_user_id::text, jsonb_build_object('reason', v_reason));
    RETURN v_block;
END
$$;
COMMENT ON FUNCTION api.block_viewer(uuid, text) IS 'The acting performer keeps a user out of their streams (optional reason, 500 characters): the user cannot join them, tip them or place a hold for them (LP124) and is taken out of the one they are watching now (a moderation event, action viewer_removed, without their name) and out of its shows as the host''s doing (completed minutes only; a private show of theirs ends, ended_by host, reason viewer blocked). Blocking again keeps one block (a new reason replaces the old). LP002 not a performer, or the user is a moderator or admin (staff watch every stream), LP003 unknown or deleted user, LP018 themselves or reason too long. Audited (stream.block).';
REVOKE ALL ON FUNCTION api.block_viewer(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.block_viewer(uuid, text) TO livepanty_app, livepanty_service;
