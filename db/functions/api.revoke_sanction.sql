CREATE FUNCTION api.revoke_sanction(p_sanction_id uuid, p_reason text) RETURNS lp.user_sanctions
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor    uuid := lp.require_user('moderator', 'admin');
    v_reason   text := lp.check_text(p_reason, 'reason', 1000, true);
    v_sanction lp.user_sanctions;
BEGIN
    SELECT s.* INTO v_sanction FROM lp.user_sanctions AS s WHERE s.id = p_sanction_id FOR UPDATE;
    IF v_sanction.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'sanction not found';
    END IF;
    IF v_sanction.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'sanction is already revoked';
    END IF;
    IF lp.current_user_role() IS DISTINCT FROM 'admin'
       AND EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = v_sanction.user_id AND lp.is_staff(u.role)) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins may lift a sanction on staff';
    END IF;
    IF v_sanction.user_id = v_actor THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'nobody may lift their own sanction';
    END IF;
    UPDATE lp.user_sanctions AS s SET revoked_at = now(), revoked_by = v_actor, revoke_reason = v_reason
     WHERE s.id = p_sanction_id
    RETURNING * INTO v_sanction;
    PERFORM lp.audit('sanction.revoke', 'user', v_sanction.user_id::text,
                     jsonb_build_object('sanction_id', v_sanction.id, 'reason', v_reason));
    -- Its appeal, if one is pending, has nothing left to decide.
    PERFORM lp.moot_appeal(v_sanction);
    RETURN v_sanction;
END
$$;
COMMENT ON FUNCTION api.revoke_sanction(uuid, text) IS 'Moderators and admins: lifts a sanction early with a reason (audited). An appeal of it still pending is closed as moot (lp.moot_appeal, audited appeal.moot). Only admins lift sanctions on staff; nobody lifts their own. LP004 if already lifted.';
REVOKE ALL ON FUNCTION api.revoke_sanction(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.revoke_sanction(uuid, text) TO livepanty_app, livepanty_service;
