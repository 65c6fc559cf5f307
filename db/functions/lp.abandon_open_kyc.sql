CREATE FUNCTION lp.abandon_open_kyc(p_user_id uuid) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    -- An erased (or deleted: api.delete_user) user's open verifications end (abandoned, terminal): no admin approves them from the review
    -- queue and no provider webhook decides them or writes a date of birth or document expiry into the record of
    -- a person the platform was asked to forget (api.apply_kyc_webhook records such an event as ignored).
    -- Idempotent (api.replay_erasure runs it again after a restore).
    UPDATE lp.kyc_verifications AS k
       SET status = 'abandoned'
     WHERE k.user_id = p_user_id
       AND k.status IN ('started', 'submitted', 'in_review', 'resubmission_requested');
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION lp.abandon_open_kyc(uuid) IS 'Owner only, part of an erasure (lp.erase_personal_data) and of a deletion (api.delete_user): moves the user''s open identity verifications (started, submitted, in_review, resubmission_requested) to abandoned, so nothing decides them after the erasure. Returns how many. Idempotent.';
REVOKE ALL ON FUNCTION lp.abandon_open_kyc(uuid) FROM PUBLIC;
