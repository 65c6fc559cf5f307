CREATE FUNCTION api.reject_kyc(
    p_verification_id        uuid,
    p_reason                 text,
    p_verified_date_of_birth date DEFAULT NULL
) RETURNS lp.kyc_verifications
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor   uuid := lp.require_user('admin');
    v_reason  text := lp.check_text(p_reason, 'reason', 1000, true);
    v_min_age integer := (lp.setting('auth.minimum_age_years'))::integer;
    v_row     lp.kyc_verifications;
    v_dob     date;
    v_underage boolean;
    v_revoked integer := 0;
    v_case    uuid;
BEGIN
    -- Plausible as for registration (lp.create_user): 1900-01-01, the erasure's marker, is refused too.
    IF p_verified_date_of_birth IS NOT NULL
       AND (p_verified_date_of_birth > current_date OR p_verified_date_of_birth <= DATE '1900-01-01') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP014', MESSAGE = 'verified date of birth is not plausible';
    END IF;
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
    -- The reviewer's date of birth is recorded only on a verification that holds none yet (a manual one): a date
    -- a provider read stays the record, and a reviewer's reading that differs from it is refused rather than
    -- silently kept or dropped (a compliance officer settles the conflict; the date never goes into an audit row).
    IF p_verified_date_of_birth IS NOT NULL AND v_row.verified_date_of_birth IS NOT NULL
       AND p_verified_date_of_birth <> v_row.verified_date_of_birth THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018',
            MESSAGE = 'the verification already holds a different verified date of birth (the provider''s reading)',
            HINT = 'Decline without a date of birth to decide by the recorded one; a compliance officer settles a reading that differs.';
    END IF;
    v_dob := coalesce(p_verified_date_of_birth, v_row.verified_date_of_birth);
    v_underage := coalesce(v_dob > (current_date - make_interval(years => v_min_age))::date, false);
    -- Declining a verification whose verified date of birth (the reviewer's, else the recorded one) shows a minor
    -- is an underage finding: every earlier approval that counts ends now (the gate closes, live streams end;
    -- audited kyc.underage_revoke), before this verification's update (lock order: the verifications, then the
    -- user's row).
    IF v_underage THEN
        v_revoked := lp.kyc_underage_finding(v_row.user_id, v_row.id, v_actor);
    END IF;

    UPDATE lp.kyc_verifications AS k
       SET status = 'declined', reviewed_by = v_actor, reviewed_at = now(),
           rejection_reason = CASE WHEN v_underage THEN left('underage: ' || v_reason, 1000) ELSE v_reason END,
           verified_date_of_birth = v_dob, decided_by = 'admin'
     WHERE k.id = p_verification_id
    RETURNING * INTO v_row;
    -- Every underage finding goes to the moderators as a critical case, as the webhook's do.
    IF v_underage THEN
        v_case := lp.open_case('system', 'underage', v_row.user_id, NULL,
                               jsonb_build_object('kyc_verification_id', v_row.id, 'found_by', 'review'), 'critical');
    END IF;
    PERFORM lp.audit('kyc.reject', 'kyc_verification', v_row.id::text,
                     jsonb_build_object('user_id', v_row.user_id, 'level', v_row.level, 'reason', v_reason,
                                        'date_of_birth_given', p_verified_date_of_birth IS NOT NULL,
                                        'underage', v_underage, 'approvals_revoked', v_revoked,
                                        'underage_case_id', v_case));
    v_row.legal_name_encrypted := NULL;  -- ciphertext stays in the database
    v_row.verified_date_of_birth := NULL;  -- identity data: compliance officers only (api.kyc_record)
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION api.reject_kyc(uuid, text, date) IS 'Admins (manual review): declines a submitted or in_review verification with a reason (1..1000 characters, LP018), optionally with the date of birth read from the document (LP014 in the future or before 1900-01-02; recorded on a verification holding none yet; LP018 when it differs from the one a provider recorded: a compliance officer settles the conflict). Status declined, decided_by admin; sets reviewed_by/at; the user may submit again until kyc.max_declines declines (then api.allow_kyc_retry). LP003 unknown, LP002 own verification, LP004 not submitted or in_review. Returns the row without the verified date of birth (identity data: api.kyc_record). Audited (kyc.reject: user_id, level, reason, date_of_birth_given, underage, approvals_revoked, underage_case_id; never the date). When the verified date of birth (the given one, else the recorded one) is under auth.minimum_age_years, the decline is an underage finding: the rejection_reason reads underage: <reason>, every earlier approval of the user that counts ends at once (lp.kyc_underage_finding: the gate closes, live streams end, audited kyc.underage_revoke) and a critical underage review case is filed (lp.open_case, audited case.open).';
REVOKE ALL ON FUNCTION api.reject_kyc(uuid, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.reject_kyc(uuid, text, date) TO livepanty_app, livepanty_service;
