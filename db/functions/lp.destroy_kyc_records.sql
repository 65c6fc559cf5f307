CREATE FUNCTION lp.destroy_kyc_records(p_user_id uuid) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    -- The end of an erased user's identity verification records: what identifies the person goes (legal name,
    -- date of birth, document references, the provider's reference); the facts stay (a verification of this
    -- level existed, its status and dates), so the payouts that cite it keep their reference.
    UPDATE lp.kyc_verifications AS k
       SET legal_name_encrypted = NULL, verified_date_of_birth = NULL, provider_reference = NULL,
           document_front_url = NULL, document_back_url = NULL, selfie_url = NULL, document_country = NULL,
           rejection_reason = CASE WHEN k.rejection_reason IS NULL THEN NULL ELSE 'destroyed' END
     WHERE k.user_id = p_user_id
       AND (k.legal_name_encrypted IS NOT NULL OR k.verified_date_of_birth IS NOT NULL
            OR k.provider_reference IS NOT NULL OR k.document_front_url IS NOT NULL OR k.document_back_url IS NOT NULL
            OR k.selfie_url IS NOT NULL OR k.document_country IS NOT NULL
            OR k.rejection_reason IS DISTINCT FROM CASE WHEN k.rejection_reason IS NULL THEN NULL ELSE 'destroyed' END);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    -- The stage names go with the record (lp.kyc_record_frozen lets them go once the record is destroyed).
    DELETE FROM lp.kyc_aliases AS a
     WHERE a.verification_id IN (SELECT k.id FROM lp.kyc_verifications AS k WHERE k.user_id = p_user_id);
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION lp.destroy_kyc_records(uuid) IS 'Owner only: destroys the personal content of a user''s identity verification records (legal name, date of birth, document country and references, provider reference, rejection reason, stage names) once their legal retention after an erasure has passed; the rows stay as facts for the payouts that cite them. Returns how many records changed. Idempotent.';
REVOKE ALL ON FUNCTION lp.destroy_kyc_records(uuid) FROM PUBLIC;
