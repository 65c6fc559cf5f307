CREATE FUNCTION api.submit_kyc(
    p_level              text DEFAULT 'identity',
    p_document_type      text DEFAULT NULL,
    p_document_country   text DEFAULT NULL,
    p_document_front_url text DEFAULT NULL,
    p_document_back_url  text DEFAULT NULL,
    p_selfie_url         text DEFAULT NULL,
    p_provider           text DEFAULT 'manual',
    p_provider_reference text DEFAULT NULL,
    p_legal_name         text DEFAULT NULL,
    p_aliases            text[] DEFAULT NULL
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
    v_name      text := lp.check_text(p_legal_name, 'legal_name', 300);
    v_aliases   text[];
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

    -- Stage names: trimmed, distinct, at most 20 of 1..100 characters.
    IF cardinality(p_aliases) > 20 OR EXISTS (SELECT 1 FROM unnest(p_aliases) AS a(alias)
                                               WHERE char_length(btrim(coalesce(a.alias, ''))) NOT BETWEEN 1 AND 100) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'aliases: at most 20 stage names of 1..100 characters';
    END IF;
    SELECT array_agg(DISTINCT btrim(a.alias)) INTO v_aliases FROM unnest(p_aliases) AS a(alias);
    -- A provider's reference names one person: the provider's webhooks (api.apply_kyc_webhook) find the
    -- verification by it, so another user's reference would hand them that person's decision. The named lock
    -- (first, before any row: nothing waits for it holding another lock of this function) makes two
    -- submissions of one reference check one after the other; the user's own earlier ones may share it.
    IF v_reference IS NOT NULL THEN
        PERFORM 1 FROM lp.locks AS l WHERE l.name = 'kyc.references' FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'lock kyc.references is missing from lp.locks',
                HINT = 'A broken deployment: re-run the migrations.';
        END IF;
        IF EXISTS (SELECT 1 FROM lp.kyc_verifications AS k
                    WHERE k.provider = v_provider AND k.provider_reference = v_reference AND k.user_id <> v_user) THEN
            RAISE EXCEPTION USING ERRCODE = 'LP132', MESSAGE = 'the provider reference belongs to another verification',
                DETAIL = format('provider %s', v_provider),
                HINT = 'Submit the reference the provider gave for this user.';
        END IF;
    END IF;
    -- Declines are counted: at kyc.max_declines (plus what admins allowed) no new verification.
    PERFORM 1 FROM lp.users AS u WHERE u.id = v_user FOR NO KEY UPDATE;
    IF lp.kyc_declines_left(v_user) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP131', MESSAGE = 'too many declined verifications',
            DETAIL = format('kyc.max_declines is %s', lp.setting('kyc.max_declines')),
            HINT = 'An admin may allow one more attempt (api.allow_kyc_retry).';
    END IF;

    -- One open verification per user (the partial unique index is the guarantee; a concurrent second
    -- submission waits for the first and then gets LP004 instead of a unique violation).
    INSERT INTO lp.kyc_verifications (user_id, level, provider, provider_reference, document_type, document_country,
                                      document_front_url, document_back_url, selfie_url, legal_name_encrypted)
    VALUES (v_user, v_level::lp.kyc_level, v_provider, v_reference, v_doc_type::lp.document_type, v_country, v_front,
            v_back, v_selfie, lp.kyc_encrypt(v_name))
    ON CONFLICT (user_id) WHERE status IN ('started', 'submitted', 'in_review', 'resubmission_requested') DO NOTHING
    RETURNING * INTO v_row;
    IF v_row.id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = 'a verification is already open',
            HINT = 'Wait for the decision on the open verification (or resubmit at its provider).';
    END IF;
    INSERT INTO lp.kyc_aliases (verification_id, alias) SELECT v_row.id, a.alias FROM unnest(v_aliases) AS a(alias);
    PERFORM lp.audit('kyc.submit', 'kyc_verification', v_row.id::text,
                     jsonb_build_object('user_id', v_user, 'level', v_level, 'provider', v_provider,
                                        'document_type', v_doc_type, 'document_country', v_country,
                                        'legal_name', v_name IS NOT NULL, 'aliases', coalesce(cardinality(v_aliases), 0)));
    v_row.legal_name_encrypted := NULL;  -- plaintext in, nothing out
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION api.submit_kyc(text, text, text, text, text, text, text, text, text, text[]) IS 'The acting user submits an age or identity verification (status submitted) for review: document type (passport, drivers_license, national_id, residence_permit), issuing country (ISO alpha-2), document images as s3://bucket/key locations (front required, back and selfie optional), provider (default manual) and its reference, the legal name (encrypted in the database under lp.secrets ''kyc'', never returned: only api.kyc_record reads it) and stage names (lp.kyc_aliases). LP018 malformed argument, LP004 a verification is already open, LP132 the provider reference belongs to another user''s verification, LP131 the user has kyc.max_declines declined verifications (api.allow_kyc_retry). Audited (kyc.submit, without the name).';
REVOKE ALL ON FUNCTION api.submit_kyc(text, text, text, text, text, text, text, text, text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.submit_kyc(text, text, text, text, text, text, text, text, text, text[]) TO livepanty_app, livepanty_service;
