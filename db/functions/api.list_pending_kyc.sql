CREATE FUNCTION api.list_pending_kyc(p_after uuid DEFAULT NULL, p_limit integer DEFAULT 50)
RETURNS SETOF lp.kyc_verifications
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_after_submitted timestamptz;
    v_row             lp.kyc_verifications;
BEGIN
    PERFORM lp.require_user('admin');
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 1000';
    END IF;
    IF p_after IS NOT NULL THEN
        -- The cursor may have been reviewed since the previous page: any verification id is a valid cursor.
        SELECT k.submitted_at INTO v_after_submitted FROM lp.kyc_verifications AS k WHERE k.id = p_after;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'unknown pagination cursor';
        END IF;
    END IF;
    -- Oldest first (a review queue); keyset pagination on (submitted_at, id).
    FOR v_row IN
        SELECT k.* FROM lp.kyc_verifications AS k
         WHERE k.status IN ('submitted', 'in_review')
           AND (p_after IS NULL OR (k.submitted_at, k.id) > (v_after_submitted, p_after))
         ORDER BY k.submitted_at, k.id
         LIMIT p_limit
    LOOP
        v_row.legal_name_encrypted := NULL;  -- ciphertext stays in the database (api.kyc_record reads it)
        RETURN NEXT v_row;
    END LOOP;
END
$$;
COMMENT ON FUNCTION api.list_pending_kyc(uuid, integer) IS 'Admins: the verifications waiting for a human review (status submitted or in_review: manual submissions, and provider checks whose score fell between kyc.auto_decline_score and kyc.auto_approve_score), oldest submission first; keyset pagination (p_after = last id of the previous page, p_limit 1..1000; LP018 otherwise).';
REVOKE ALL ON FUNCTION api.list_pending_kyc(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_pending_kyc(uuid, integer) TO livepanty_app, livepanty_service;
