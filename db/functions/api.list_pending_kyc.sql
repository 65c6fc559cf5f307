CREATE FUNCTION api.list_pending_kyc(p_after uuid DEFAULT NULL, p_limit integer DEFAULT 50)
RETURNS SETOF lp.kyc_verifications
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM lp.pending_kyc_page(NULL, p_after, p_limit);
END
$$;
COMMENT ON FUNCTION api.list_pending_kyc(uuid, integer) IS 'Admins: the verifications waiting for a human review (status submitted or in_review: manual submissions, and provider checks whose score fell between kyc.auto_decline_score and kyc.auto_approve_score), oldest submission first; keyset pagination (p_after = last id of the previous page, p_limit 1..1000; LP018 otherwise).';
REVOKE ALL ON FUNCTION api.list_pending_kyc(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_pending_kyc(uuid, integer) TO livepanty_app, livepanty_service;
