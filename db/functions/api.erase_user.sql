CREATE FUNCTION api.erase_user(p_user_id uuid, p_reason text) RETURNS lp.erasures
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user('admin', 'compliance_officer');
    v_reason text := lp.check_text(p_reason, 'reason', 1000, true);
BEGIN
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_user_id is required';
    END IF;
    -- Admins and compliance officers (who handle data-subject requests). Also for an account that was
    -- deleted (api.delete_user) and can no longer log in to ask itself.
    RETURN lp.erase(p_user_id, 'admin', v_actor, v_reason);
END
$$;
COMMENT ON FUNCTION api.erase_user(uuid, text) IS 'Admins and compliance officers: erase a user''s personal data (a request received by mail or phone, a deleted account, a legal order), with a required reason; same effect and refusals as api.request_erasure (LP003 unknown user, LP004 already erased or a staff account, LP170 money in flight). Returns the erasure log row.';
REVOKE ALL ON FUNCTION api.erase_user(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.erase_user(uuid, text) TO livepanty_app, livepanty_service;
