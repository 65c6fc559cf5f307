CREATE FUNCTION lp.approved_kyc(p_user_id uuid) RETURNS lp.kyc_verifications
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT k.* FROM lp.kyc_verifications AS k
     WHERE k.user_id = p_user_id
       AND k.level = 'identity'
       AND k.status = 'approved'
       AND (k.expires_at IS NULL OR k.expires_at > now())
     ORDER BY k.reviewed_at DESC, k.id DESC
     LIMIT 1
$$;
COMMENT ON FUNCTION lp.approved_kyc(uuid) IS 'The user''s most recently approved identity-level KYC verification that has not expired (expires_at NULL or in the future), or NULL. The one check payouts use (LP111 when NULL).';
REVOKE ALL ON FUNCTION lp.approved_kyc(uuid) FROM PUBLIC;
