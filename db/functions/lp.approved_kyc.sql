CREATE FUNCTION lp.approved_kyc(p_user_id uuid) RETURNS lp.kyc_verifications
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT k.* FROM lp.kyc_verifications AS k
     WHERE k.user_id = p_user_id
       AND k.level = 'identity'
       AND k.status = 'approved'
       AND lp.kyc_approval_end(k.reviewed_at, k.expires_at) > now()
     ORDER BY k.reviewed_at DESC, k.id DESC
     LIMIT 1
$$;
COMMENT ON FUNCTION lp.approved_kyc(uuid) IS 'The user''s most recently approved identity-level KYC verification that still counts (lp.kyc_approval_end in the future: its document unexpired, within kyc.approval_valid_days), or NULL: the verification a payout cites. The gate itself is lp.kyc_refusal.';
REVOKE ALL ON FUNCTION lp.approved_kyc(uuid) FROM PUBLIC;
