CREATE FUNCTION lp.request_remote_sanction(
    p_user_id   uuid,
    p_type      text,
    p_reason    text,
    p_ends_at   timestamptz,
    p_case_id   uuid,
    p_issued_by uuid
) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_reason  text := lp.check_text(p_reason, 'reason', 1000, true);
    v_home    smallint;
    v_request uuid;
BEGIN
    -- A case of this shard decided a warning or sanction against the stub of a user of another shard (a
    -- sharded installation; docs/scale-out.md): the same checks as lp.issue_sanction, then the request, which
    -- the relay delivers to the user's shard (shard.apply_sanction_request issues it there, once).
    PERFORM lp.check_sanction_arguments(p_user_id, p_type, p_ends_at, p_issued_by);
    SELECT r.home_shard INTO v_home
      FROM lp.remote_users AS r JOIN lp.users AS u ON u.id = r.user_id
     WHERE r.user_id = p_user_id AND u.deleted_at IS NULL;
    IF v_home IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found',
            DETAIL = 'Only the stub of a user of another shard is sanctioned by request.';
    END IF;
    INSERT INTO lp.sanction_requests (user_id, to_shard, case_id, sanction_type, reason, ends_at, issued_by)
    VALUES (p_user_id, v_home, p_case_id, p_type::lp.sanction_type, v_reason, p_ends_at, p_issued_by)
    RETURNING id INTO v_request;
    PERFORM lp.audit('sanction.request', 'user', p_user_id::text,
                     jsonb_build_object('request_id', v_request, 'type', p_type, 'ends_at', p_ends_at,
                                        'report_id', p_case_id, 'to_shard', v_home),
                     p_actor_id => p_issued_by);
    RETURN v_request;
END
$$;
COMMENT ON FUNCTION lp.request_remote_sanction(uuid, text, text, timestamptz, uuid, uuid) IS 'Owner only (api.resolve_case on a shard of a sharded installation): the warning or sanction a case decided against the stub of a user of another shard, asked of their shard (an lp.sanction_requests row, whose id it returns; the relay delivers it, shard.apply_sanction_request issues it there once). The argument checks of lp.issue_sanction (LP018, LP002); LP003 when p_user_id is no stub (or deleted). Audited (sanction.request).';
REVOKE ALL ON FUNCTION lp.request_remote_sanction(uuid, text, text, timestamptz, uuid, uuid) FROM PUBLIC;
