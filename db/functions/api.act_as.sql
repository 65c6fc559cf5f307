CREATE FUNCTION api.act_as(p_user_id uuid, p_reason text) RETURNS api.authenticated
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_reason text := lp.check_text(p_reason, 'reason', 500, true);
    v_role   text;
BEGIN
    SELECT u.role::text INTO v_role FROM lp.users AS u WHERE u.id = p_user_id AND u.deleted_at IS NULL;
    IF v_role IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found',
            DETAIL = format('no active user has id %s', p_user_id);
    END IF;
    PERFORM lp.set_identity(p_user_id, NULL, 'service');
    PERFORM lp.audit('auth.act_as', 'user', p_user_id::text,
                     jsonb_build_object('reason', v_reason, 'database_user', session_user::text), NULL, NULL);
    RETURN ROW(p_user_id, NULL, v_role, NULL)::api.authenticated;
END
$$;
COMMENT ON FUNCTION api.act_as(uuid, text) IS 'Back office only (livepanty_service): makes p_user_id the acting user for the rest of the transaction without their session, for jobs, payment webhooks and support tools. The reason (required, at most 500 characters) and the database login are audited (auth.act_as); audit rows written while acting so say acting_via = service. LP003 for an unknown or deleted user.';
REVOKE ALL ON FUNCTION api.act_as(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.act_as(uuid, text) TO livepanty_service;
