CREATE FUNCTION api.submit_kyc(
    p_level              text DEFAULT 'identity',
    p_document_type      text DEFAULT NULL,
    p_document_country   text DEFAULT NULL,
    p_document_front_url text DEFAULT NULL,
    p_document_back_url  text DEFAULT NULL,
    p_selfie_url         text DEFAULT NULL,
    p_provider           text DEFAULT 'manual',
    p_provider_reference text DEFAULT NULL
) RETURNS lp.kyc_verifications
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user      uuid := lp.require_user();
    v_level     text := lp.check_text(p_level, 'level', 20, true);
    v_doc_type  text := lp.check_text(p_document_type, 'document_type', 40, true);
    v_country   text := upper(lp.check_text(p_document_country, 'document_country', 2, true));
    v_front     text := lp.check_text(p_document_front_url, 'document_front_url', 2048, true);
    v_back      text := lp.check_text(p_document_back_url, 'document_back_url', 2048);
    v_selfie    text := lp.check_text(p_selfie_url, 'selfie_url', 2048);
    v_provider  text := lp.check_text(p_provider, 'provider', 32, true);
    v_reference text := lp.check_text(p_provider_reference, 'provider_reference', 255);
    v_row       lp.kyc_verifications;
BEGIN
    PERFORM lp.check_choice(v_level, 'lp.kyc_level', 'level');
    PERFORM lp.check_choice(v_doc_type, 'lp.document_type', 'document_type');
    IF v_country !~ '^[A-Z]{2}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'document_country must be an ISO 3166-1 alpha-2 code';
    END IF;
    -- Images live in encrypted object storage; the database keeps only their location.
    IF v_front !~ '^s3://[a-z0-9.-]{3,63}/.+' OR v_back !~ '^s3://[a-z0-9.-]{3,63}/.+'
       OR v_selfie !~ '^s3://[a-z0-9.-]{3,63}/.+' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'document and selfie locations must be s3://bucket/key';
    END IF;
    IF v_provider !~ '^[a-z][a-z0-9_]{1,31}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018',
            MESSAGE = 'provider must be 2..32 lower-case letters, digits or underscores, starting with a letter';
    END IF;

    -- One pending verification per user (the partial unique index is the guarantee; a concurrent second
    -- submission waits for the first and then gets LP004 instead of a unique violation).
    INSERT INTO lp.kyc_verifications (user_id, level, provider, provider_reference, document_type, document_country,
                                      document_front_url, document_back_url, selfie_url)
    VALUES (v_user, v_level::lp.kyc_level, v_provider, v_reference, v_doc_type::lp.document_type, v_country, v_front, v_back, v_selfie)
    ON CONFLICT (user_id) WHERE status = 'pending' DO NOTHING
    RETURNING * INTO v_row;
    IF v_row.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'a verification is already pending',
            HINT = 'Wait for the review of the pending verification.';
    END IF;
    PERFORM lp.audit('kyc.submit', 'kyc_verification', v_row.id::text,
                     jsonb_build_object('user_id', v_user, 'level', v_level, 'provider', v_provider,
                                        'document_type', v_doc_type, 'document_country', v_country));
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION api.submit_kyc(text, text, text, text, text, text, text, text) IS 'The acting user submits an age or identity verification for review: document type (passport, drivers_license, national_id, residence_permit), issuing country (ISO alpha-2), document images as s3://bucket/key locations (front required, back and selfie optional), provider (default manual) and its reference. LP018 malformed argument, LP004 a verification is already pending. Audited (kyc.submit).';
REVOKE ALL ON FUNCTION api.submit_kyc(text, text, text, text, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.submit_kyc(text, text, text, text, text, text, text, text) TO livepanty_app, livepanty_service;
