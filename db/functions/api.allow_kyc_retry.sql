CREATE FUNCTION api.allow_kyc_retry(p_user_id uuid, p_reason text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user('admin');
    v_reason text := lp.check_text(p_reason, 'reason', 1000, true);
    v_left   integer;
BEGIN
    PERFORM 1 FROM lp.users AS u WHERE u.id = p_user_id AND u.deleted_at IS NULL FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'user not found';
    END IF;
    IF p_user_id = v_actor THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'nobody may allow their own verification attempts';
    END IF;
    IF lp.kyc_declines_left(p_user_id) > 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the user has not reached kyc.max_declines',
            DETAIL = format('%s declines left', lp.kyc_declines_left(p_user_id));
    END IF;
    UPDATE lp.users AS u SET kyc_extra_attempts = u.kyc_extra_attempts + 1 WHERE u.id = p_user_id;
    v_left := lp.kyc_declines_left(p_user_id);
    PERFORM lp.audit('kyc.allow_retry', 'user', p_user_id::text,
                     jsonb_build_object('reason', v_reason, 'declines_left', v_left));
    RETURN v_left;
END
$$;
COMMENT ON FUNCTION api.allow_kyc_retry(uuid, text) IS 'Admins: lets a user who reached kyc.max_declines declined verifications (api.submit_kyc refuses them: LP131) start one more, with a reason (1..1000 characters). Returns how many declines the user now has left (1). LP003 unknown user, LP002 oneself, LP004 the user is not at the limit, LP018 no reason. Audited (kyc.allow_retry).';
REVOKE ALL ON FUNCTION api.allow_kyc_retry(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.allow_kyc_retry(uuid, text) TO livepanty_app, livepanty_service;
