CREATE FUNCTION api.get_kyc_status(p_user_id uuid DEFAULT NULL) RETURNS SETOF lp.kyc_verifications
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor uuid := lp.require_user();
    v_user  uuid := coalesce(p_user_id, v_actor);
    v_row   lp.kyc_verifications;
BEGIN
    IF v_user <> v_actor AND coalesce(lp.current_user_role(), '') NOT IN ('admin', 'compliance_officer') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002',
            MESSAGE = 'only admins and compliance officers read another user''s verification';
    END IF;
    SELECT k.* INTO v_row FROM lp.kyc_verifications AS k
     WHERE k.user_id = v_user
     -- An open verification is always the latest (a new one can only be started once it is decided).
     ORDER BY k.status IN ('started', 'submitted', 'in_review', 'resubmission_requested') DESC, k.created_at DESC, k.id DESC
     LIMIT 1;
    IF v_row.id IS NULL THEN
        RETURN;
    END IF;
    -- An approval that no longer counts (the KYC gate refuses: its document expired or kyc.approval_valid_days
    -- passed) is reported as expired even before api.expire_kyc_approvals marks it: re-verification needed.
    IF v_row.status = 'approved' AND lp.kyc_refusal(v_user) IS NOT NULL THEN
        v_row.status := 'expired';
    END IF;
    -- Users see who reviewed it as reviewed_by_label; only staff see the reviewer's id.
    IF coalesce(lp.current_user_role(), '') NOT IN ('moderator', 'admin', 'compliance_officer') THEN
        v_row.reviewed_by := NULL;
    END IF;
    v_row.legal_name_encrypted := NULL;  -- ciphertext stays in the database (api.kyc_record reads it)
    -- The verified date of birth is the person's own: nobody else reads it here (compliance officers read it
    -- through api.kyc_record, where every read is audited).
    IF v_user <> v_actor THEN
        v_row.verified_date_of_birth := NULL;
    END IF;
    RETURN NEXT v_row;
END
$$;
COMMENT ON FUNCTION api.get_kyc_status(uuid) IS 'The latest KYC verification of the acting user (admins and compliance officers: of any user given by p_user_id, LP002 for others); no row when there is none. An approval that no longer counts (lp.kyc_refusal: its document expired or kyc.approval_valid_days passed) is returned with status expired, as api.expire_kyc_approvals later stores it; approval_ended_at set means the user needs re-verification. reviewed_by (the reviewer''s id) is NULL unless the caller is staff (moderator, admin, compliance officer); reviewed_by_label names the reviewer for everyone. verified_date_of_birth only for the user''s own verification (NULL for staff: compliance officers read it with api.kyc_record, audited).';
REVOKE ALL ON FUNCTION api.get_kyc_status(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.get_kyc_status(uuid) TO livepanty_app, livepanty_service;
