CREATE FUNCTION api.sanction_user(
    p_user_id   uuid,
    p_type      text,
    p_reason    text,
    p_ends_at   timestamptz DEFAULT NULL,
    p_report_id uuid DEFAULT NULL
) RETURNS lp.user_sanctions
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor       uuid := lp.require_user('moderator', 'admin');
    v_actor_role  text := lp.current_user_role();
    v_reason      text := lp.check_text(p_reason, 'reason', 1000, true);
    v_target_role text;
    v_sanction    lp.user_sanctions;
    v_count       integer := 0;
    v_ended       integer := 0;
BEGIN
    PERFORM lp.check_choice(p_type, 'lp.sanction_type', 'sanction type');
    IF p_type = 'suspension' AND p_ends_at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'a suspension needs an end time';
    END IF;
    IF p_ends_at IS NOT NULL AND p_ends_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'the end time must be in the future';
    END IF;
    IF p_user_id = v_actor THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'nobody may sanction themselves';
    END IF;
    SELECT u.role::text INTO v_target_role FROM lp.users AS u WHERE u.id = p_user_id AND u.deleted_at IS NULL;
    IF v_target_role IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    IF v_target_role IN ('moderator', 'admin') AND v_actor_role <> 'admin' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins may sanction staff';
    END IF;
    IF p_report_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lp.reports AS r WHERE r.id = p_report_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'report not found';
    END IF;

    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, report_id, issued_by, ends_at)
    VALUES (p_user_id, p_type::lp.sanction_type, v_reason, p_report_id, v_actor, p_ends_at)
    RETURNING * INTO v_sanction;
    IF p_type IN ('suspension', 'ban') THEN
        v_count := lp.revoke_sessions(p_user_id, 'sanction');
        -- Off camera now, in the same transaction (sessions first, then streams: the lock order of a host's
        -- own calls). A sanction that starts later is enforced by the viewer sweep (api.sweep_viewers).
        IF lp.sanctioned(p_user_id) THEN
            v_ended := lp.end_streams_of(p_user_id, format('performer %s', p_type));
        END IF;
    END IF;
    PERFORM lp.audit('sanction.issue', 'user', p_user_id::text,
                     jsonb_build_object('sanction_id', v_sanction.id, 'type', p_type, 'ends_at', p_ends_at,
                                        'sessions_revoked', v_count, 'streams_ended', v_ended));
    RETURN v_sanction;
END
$$;
COMMENT ON FUNCTION api.sanction_user(uuid, text, text, timestamptz, uuid) IS 'Moderators and admins: issues a warning, mute, suspension (needs p_ends_at) or ban (permanent unless p_ends_at). Suspensions and bans revoke the user''s sessions and block login. Only admins sanction staff; nobody sanctions themselves.';
REVOKE ALL ON FUNCTION api.sanction_user(uuid, text, text, timestamptz, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.sanction_user(uuid, text, text, timestamptz, uuid) TO livepanty_app, livepanty_service;
