CREATE FUNCTION api.approve_kyc(
    p_verification_id        uuid,
    p_expires_at             timestamptz DEFAULT NULL,
    p_verified_date_of_birth date DEFAULT NULL
) RETURNS lp.kyc_verifications
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor   uuid := lp.require_user('admin');
    v_min_age integer := (lp.setting('auth.minimum_age_years'))::integer;
    v_row     lp.kyc_verifications;
BEGIN
    IF p_expires_at IS NOT NULL AND p_expires_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'expires_at must be in the future';
    END IF;
    IF p_verified_date_of_birth IS NOT NULL THEN
        -- Plausible as for registration (lp.create_user): 1900-01-01, the erasure's marker, is refused too.
        IF p_verified_date_of_birth > current_date OR p_verified_date_of_birth <= DATE '1900-01-01' THEN
            RAISE EXCEPTION USING ERRCODE = 'LP014', MESSAGE = 'verified date of birth is not plausible';
        END IF;
        IF p_verified_date_of_birth > (current_date - make_interval(years => v_min_age))::date THEN
            RAISE EXCEPTION USING ERRCODE = 'LP013', MESSAGE = format('the document shows an age under %s', v_min_age),
                HINT = 'Reject the verification instead.';
        END IF;
    END IF;
    SELECT k.* INTO v_row FROM lp.kyc_verifications AS k WHERE k.id = p_verification_id FOR UPDATE;
    IF v_row.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'verification not found';
    END IF;
    IF v_row.user_id = v_actor THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'nobody may review their own verification';
    END IF;
    -- 18+ also on a date of birth a provider recorded earlier, whatever date the reviewer types: a provider's
    -- verified date showing a minor is not overwritten into an approval (the verification is rejected instead).
    IF v_row.verified_date_of_birth > (current_date - make_interval(years => v_min_age))::date THEN
        RAISE EXCEPTION USING ERRCODE = 'LP013', MESSAGE = format('the document shows an age under %s', v_min_age),
            HINT = 'Reject the verification instead.';
    END IF;
    IF v_row.status NOT IN ('submitted', 'in_review') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'only a submitted or in_review verification can be approved',
            DETAIL = format('status %s', v_row.status);
    END IF;

    -- A document a provider reported expired cannot be approved: the approval would be over before it began.
    IF v_row.expires_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'the verification''s document has expired',
            DETAIL = format('expired at %s', v_row.expires_at),
            HINT = 'Reject the verification: the user submits a valid document.';
    END IF;

    -- The document's expiry a provider reported (api.apply_kyc_webhook, before the human review) stays: the
    -- approval ends at the earlier of it and the admin's date (least ignores a missing one), so the gate closes
    -- when the document expires whatever date, or none, the reviewer gave.
    UPDATE lp.kyc_verifications AS k
       SET status = 'approved', reviewed_by = v_actor, reviewed_at = now(), expires_at = least(p_expires_at, k.expires_at),
           verified_date_of_birth = coalesce(p_verified_date_of_birth, k.verified_date_of_birth), decided_by = 'admin'
     WHERE k.id = p_verification_id
    RETURNING * INTO v_row;
    UPDATE lp.users AS u SET age_verified_at = now() WHERE u.id = v_row.user_id;
    PERFORM lp.audit('kyc.approve', 'kyc_verification', v_row.id::text,
                     jsonb_build_object('user_id', v_row.user_id, 'level', v_row.level, 'expires_at', v_row.expires_at));
    v_row.legal_name_encrypted := NULL;  -- ciphertext stays in the database
    v_row.verified_date_of_birth := NULL;  -- identity data: compliance officers only (api.kyc_record)
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION api.approve_kyc(uuid, timestamptz, date) IS 'Admins (manual review): approves a submitted or in_review verification (optionally until p_expires_at, which must be in the future; a document expiry a provider already reported stays when it is earlier, and with the date of birth read from the document: LP014 implausible, LP013 under the minimum age, as is a date of birth a provider recorded before, whatever date is given). Sets reviewed_by/at and the user''s age_verified_at. LP003 unknown, LP002 own verification, LP004 not submitted or in_review, or its document expiry a provider reported has passed. decided_by admin; the record is frozen from now (LP130). Audited (kyc.approve). Returns the row without the verified date of birth (identity data: api.kyc_record).';
REVOKE ALL ON FUNCTION api.approve_kyc(uuid, timestamptz, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.approve_kyc(uuid, timestamptz, date) TO livepanty_app, livepanty_service;
