CREATE FUNCTION api.reject_kyc(p_verification_id uuid, p_reason text) RETURNS lp.kyc_verifications
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user('admin');
    v_reason text := lp.check_text(p_reason, 'reason', 1000, true);
    v_min_age integer := (lp.setting('auth.minimum_age_years'))::integer;
    v_row    lp.kyc_verifications;
BEGIN
    SELECT k.* INTO v_row FROM lp.kyc_verifications AS k WHERE k.id = p_verification_id FOR UPDATE;
    IF v_row.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'verification not found';
    END IF;
    IF v_row.user_id = v_actor THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'nobody may review their own verification';
    END IF;
    IF v_row.status NOT IN ('submitted', 'in_review') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'only a submitted or in_review verification can be declined',
            DETAIL = format('status %s', v_row.status);
    END IF;
    -- Declining a verification whose verified date of birth shows a minor confirms an underage finding: every
    -- earlier approval that counts ends now (the gate closes, live streams end; audited kyc.underage_revoke).
    IF v_row.verified_date_of_birth > (current_date - make_interval(years => v_min_age))::date THEN
        PERFORM lp.kyc_underage_finding(v_row.user_id, v_row.id, v_actor);
    END IF;

    UPDATE lp.kyc_verifications AS k
       SET status = 'declined', reviewed_by = v_actor, reviewed_at = now(), rejection_reason = v_reason,
           decided_by = 'admin'
     WHERE k.id = p_verification_id
    RETURNING * INTO v_row;
    PERFORM lp.audit('kyc.reject', 'kyc_verification', v_row.id::text,
                     jsonb_build_object('user_id', v_row.user_id, 'level', v_row.level, 'reason', v_reason));
    v_row.legal_name_encrypted := NULL;  -- ciphertext stays in the database
    v_row.verified_date_of_birth := NULL;  -- identity data: compliance officers only (api.kyc_record)
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION api.reject_kyc(uuid, text) IS 'Admins (manual review): declines a submitted or in_review verification with a reason (1..1000 characters, LP018): status declined, decided_by admin. Sets reviewed_by/at; the user may submit again until kyc.max_declines declines (then api.allow_kyc_retry). LP003 unknown, LP002 own verification, LP004 not submitted or in_review. Returns the row without the verified date of birth (identity data: api.kyc_record). Audited (kyc.reject). A verification whose verified date of birth (a provider''s) is under auth.minimum_age_years is an underage finding: every earlier approval of the user that counts ends at once (lp.kyc_underage_finding: the gate closes, live streams end, audited kyc.underage_revoke).';
REVOKE ALL ON FUNCTION api.reject_kyc(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.reject_kyc(uuid, text) TO livepanty_app, livepanty_service;
