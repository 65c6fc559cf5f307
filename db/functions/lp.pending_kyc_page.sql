CREATE FUNCTION lp.pending_kyc_page(p_after_submitted timestamptz, p_after_id uuid, p_limit integer)
RETURNS SETOF lp.kyc_verifications
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_row   lp.kyc_verifications;
    v_after timestamptz := p_after_submitted;
BEGIN
    PERFORM lp.require_user('admin');
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 1000';
    END IF;
    IF p_after_id IS NOT NULL AND v_after IS NULL THEN
        -- A cursor id alone (api.list_pending_kyc): its key is read here. The cursor may have been reviewed since
        -- the previous page: any verification id is a valid cursor.
        SELECT k.submitted_at INTO v_after FROM lp.kyc_verifications AS k WHERE k.id = p_after_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'unknown pagination cursor';
        END IF;
    END IF;
    -- Oldest first (a review queue); keyset pagination on (submitted_at, id): p_after_* is the key of the last
    -- verification of the previous page (the router passes both: the cursor may live on another shard).
    FOR v_row IN
        SELECT k.* FROM lp.kyc_verifications AS k
         WHERE k.status IN ('submitted', 'in_review')
           AND (p_after_id IS NULL OR (k.submitted_at, k.id) > (v_after, p_after_id))
         ORDER BY k.submitted_at, k.id
         LIMIT p_limit
    LOOP
        v_row.legal_name_encrypted := NULL;  -- ciphertext stays in the database (api.kyc_record reads it)
        v_row.verified_date_of_birth := NULL;  -- identity data: compliance officers only (api.kyc_record)
        RETURN NEXT v_row;
    END LOOP;
END
$$;
COMMENT ON FUNCTION lp.pending_kyc_page(timestamptz, uuid, integer) IS 'api.list_pending_kyc''s page after the cursor p_after_id, whose submitted_at is read here unless given (the router gives it: every shard''s page of its merged list): admins only (LP002), p_limit 1..1000 (LP018), an unknown cursor (LP018), the legal name''s ciphertext and the verified date of birth left out (compliance officers read them: api.kyc_record).';
REVOKE ALL ON FUNCTION lp.pending_kyc_page(timestamptz, uuid, integer) FROM PUBLIC;
