CREATE FUNCTION api.sanction_user(
    p_user_id          uuid,
    p_type             text,
    p_reason           text,
    p_ends_at          timestamptz DEFAULT NULL,
    p_report_id        uuid DEFAULT NULL,
    p_review_on_expiry boolean DEFAULT false
) RETURNS lp.user_sanctions
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor       uuid := lp.require_user('moderator', 'admin');
    v_target_role lp.user_role;
BEGIN
    IF p_user_id = v_actor THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'nobody may sanction themselves';
    END IF;
    SELECT u.role INTO v_target_role FROM lp.users AS u WHERE u.id = p_user_id AND u.deleted_at IS NULL;
    IF lp.is_staff(v_target_role) AND lp.current_user_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins may sanction staff';
    END IF;
    -- The arguments (LP018), the user and report (LP003), the effects and the audit row: the one helper.
    RETURN lp.issue_sanction(p_user_id, p_type, p_reason, p_ends_at, p_report_id, v_actor, p_review_on_expiry);
END
$$;
COMMENT ON FUNCTION api.sanction_user(uuid, text, text, timestamptz, uuid, boolean) IS 'Moderators and admins: issues a sanction (lp.issue_sanction): warning, mute (no tip messages), tip_block (no tips or holds), stream_block (cannot go live; live streams end), payout_hold (no payouts), suspension (needs p_ends_at; p_review_on_expiry sends the account back to review when it ends) or ban (permanent unless p_ends_at). Suspensions and bans revoke the user''s sessions and block login. Only admins sanction staff; nobody sanctions themselves.';
REVOKE ALL ON FUNCTION api.sanction_user(uuid, text, text, timestamptz, uuid, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.sanction_user(uuid, text, text, timestamptz, uuid, boolean) TO livepanty_app, livepanty_service;
