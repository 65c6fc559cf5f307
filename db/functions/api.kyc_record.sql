CREATE FUNCTION api.kyc_record(p_verification_id uuid)
RETURNS TABLE (
    verification_id        uuid,
    user_id                uuid,
    level                  text,
    status                 text,
    provider               text,
    provider_reference     text,
    legal_name             text,
    date_of_birth          date,
    document_type          text,
    document_country       text,
    document_front_url     text,
    document_back_url      text,
    selfie_url             text,
    aliases                text[],
    approved_at            timestamptz,
    expires_at             timestamptz
)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor uuid := lp.require_user('compliance_officer');
BEGIN
    RETURN QUERY
        SELECT k.id, k.user_id, k.level::text, k.status::text, k.provider, k.provider_reference,
               lp.kyc_decrypt(k.legal_name_encrypted), k.verified_date_of_birth, k.document_type::text,
               k.document_country, k.document_front_url, k.document_back_url, k.selfie_url,
               coalesce((SELECT array_agg(a.alias ORDER BY a.alias) FROM lp.kyc_aliases AS a
                          WHERE a.verification_id = k.id), '{}'::text[]),
               k.approved_at, k.expires_at
          FROM lp.kyc_verifications AS k
         WHERE k.id = p_verification_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'verification not found';
    END IF;
    PERFORM lp.audit('kyc.record_read', 'kyc_verification', p_verification_id::text,
                     jsonb_build_object('read_by', v_actor));
END
$$;
COMMENT ON FUNCTION api.kyc_record(uuid) IS 'Compliance officers only (LP002 for everyone else, admins included): the record of one identity verification decrypted: legal name (lp.kyc_decrypt), date of birth, document type, country and references, the stage names (lp.kyc_aliases). LP003 unknown. Every read is audited (kyc.record_read).';
REVOKE ALL ON FUNCTION api.kyc_record(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.kyc_record(uuid) TO livepanty_app, livepanty_service;
