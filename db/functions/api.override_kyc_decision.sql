CREATE FUNCTION api.override_kyc_decision(p_verification_id uuid, p_status text, p_reason text)
RETURNS lp.kyc_verifications
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor   uuid := lp.require_user('admin');
    v_status  text := lp.check_text(p_status, 'status', 30, true);
    v_reason  text := lp.check_text(p_reason, 'reason', 1000, true);
    v_min_age integer := (lp.setting('auth.minimum_age_years'))::integer;
    v_row     lp.kyc_verifications;
    v_before  lp.kyc_verifications;
    v_ended   integer := 0;
    v_case    uuid;
BEGIN
    IF v_status IS DISTINCT FROM 'approved' AND v_status IS DISTINCT FROM 'declined' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'a decision is approved or declined';
    END IF;
    SELECT k.* INTO v_before FROM lp.kyc_verifications AS k WHERE k.id = p_verification_id FOR UPDATE;
    IF v_before.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'verification not found';
    END IF;
    IF v_before.user_id = v_actor THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'nobody may decide their own verification';
    END IF;
    -- Expired and abandoned verifications are over; a decision is not taken twice.
    -- An approval past its end (lp.kyc_approval_end: its document expired or kyc.approval_valid_days passed) is
    -- expired, whether or not api.expire_kyc_approvals has marked it yet: a decline then an approval would
    -- otherwise restart its period (reviewed_at) and revive it without a re-verification.
    IF v_before.status IN ('expired', 'abandoned') OR v_before.status::text = v_status
       OR (v_before.status = 'approved' AND lp.kyc_approval_end(v_before.reviewed_at, v_before.expires_at) <= now()) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = format('a verification in status %s cannot be %s',
                                                                  CASE WHEN v_before.status = 'approved' AND v_status <> 'approved'
                                                                       THEN 'expired' ELSE v_before.status::text END,
                                                                  v_status);
    END IF;
    -- Approving again a verification that was approved before (then revoked by an override) restores that
    -- approval: its period still counts from the first approval (approved_at), so it cannot outlive it, and an
    -- approval whose period has passed since is over (a re-verification is needed).
    IF v_status = 'approved' AND v_before.approved_at IS NOT NULL
       AND lp.kyc_approval_end(v_before.approved_at, v_before.expires_at) <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the verification''s approval period has passed',
            DETAIL = format('first approved at %s', v_before.approved_at),
            HINT = 'The user needs a re-verification (api.submit_kyc).';
    END IF;
    -- A verification never approved whose document a provider reported expired: no approval (it would be over
    -- before it began).
    IF v_status = 'approved' AND v_before.approved_at IS NULL AND v_before.expires_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the verification''s document has expired',
            DETAIL = format('expired at %s', v_before.expires_at),
            HINT = 'The user needs a new verification with a valid document (api.submit_kyc).';
    END IF;
    IF v_status = 'approved'
       AND v_before.verified_date_of_birth > (current_date - make_interval(years => v_min_age))::date THEN
        RAISE EXCEPTION USING ERRCODE = 'LP013', MESSAGE = format('the document shows an age under %s', v_min_age);
    END IF;
    -- A decline of a verification whose verified date of birth shows a minor is an underage finding: every
    -- other approval that counts ends now (the gate closes, live streams end; audited kyc.underage_revoke), and
    -- the moderators get a critical case, as for the webhook's and api.reject_kyc's findings.
    IF v_status = 'declined'
       AND v_before.verified_date_of_birth > (current_date - make_interval(years => v_min_age))::date THEN
        PERFORM lp.kyc_underage_finding(v_before.user_id, v_before.id, v_actor);
        v_case := lp.open_case('system', 'underage', v_before.user_id, NULL,
                               jsonb_build_object('kyc_verification_id', v_before.id, 'found_by', 'override'),
                               'critical');
    END IF;

    UPDATE lp.kyc_verifications AS k
       SET status = v_status::lp.kyc_status, reviewed_by = v_actor,
           reviewed_at = CASE WHEN v_status = 'approved' AND k.approved_at IS NOT NULL THEN k.approved_at ELSE now() END,
           decided_by = 'override',
           rejection_reason = CASE WHEN v_status = 'declined' THEN v_reason ELSE k.rejection_reason END
     WHERE k.id = p_verification_id
    RETURNING * INTO v_row;
    IF v_status = 'approved' THEN
        UPDATE lp.users AS u SET age_verified_at = now() WHERE u.id = v_row.user_id;
    END IF;
    -- A revoked approval that leaves the user without one that counts closes the gate now: their live streams
    -- end now too, as api.expire_kyc_approvals ends them (lock order: the verification, the user's row through
    -- the gate's trigger, then the streams).
    IF v_before.status = 'approved' AND v_status <> 'approved' AND lp.kyc_refusal(v_row.user_id) IS NOT NULL THEN
        v_ended := lp.end_streams_of(v_row.user_id, 'identity verification revoked');
    END IF;
    PERFORM lp.audit('kyc.override', 'kyc_verification', v_row.id::text,
                     jsonb_build_object('user_id', v_row.user_id, 'from', v_before.status, 'to', v_status,
                                        'decided_by_before', v_before.decided_by, 'reason', v_reason,
                                        'streams_ended', v_ended, 'underage_case_id', v_case));
    v_row.legal_name_encrypted := NULL;  -- ciphertext stays in the database
    v_row.verified_date_of_birth := NULL;  -- identity data: compliance officers only (api.kyc_record)
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION api.override_kyc_decision(uuid, text, text) IS 'Admins: overrides the decision on a verification (the provider''s, the score''s or a reviewer''s; also decides one still open) with approved or declined and a reason (1..1000 characters): decided_by override, reviewed_by the admin. LP018 another status or no reason, LP003 unknown, LP002 own verification, LP004 expired (also an approval past its end that api.expire_kyc_approvals has not marked yet), abandoned or already so, LP013 approving a person the verified date of birth shows under age. Approving again a verification approved before (then revoked) restores that approval: reviewed_at is its first approval (approved_at), from which kyc.approval_valid_days counts; LP004 when that period has passed, and approving a verification never approved whose document a provider reported expired. Returns the row without the verified date of birth (identity data: api.kyc_record). Audited (kyc.override, with the reason). A decline of a verification whose verified date of birth is under auth.minimum_age_years is an underage finding: every other approval of the user that counts ends at once (lp.kyc_underage_finding: the gate closes, live streams end, audited kyc.underage_revoke) and a critical underage review case is filed (lp.open_case, audited case.open; its id in the kyc.override audit row as underage_case_id).';
REVOKE ALL ON FUNCTION api.override_kyc_decision(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.override_kyc_decision(uuid, text, text) TO livepanty_app, livepanty_service;
