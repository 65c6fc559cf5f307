-- No SET search_path (owner-only helper, inlined into its callers, which pin it).
CREATE FUNCTION lp.kyc_status_move(p_from lp.kyc_status, p_to lp.kyc_status) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    -- Forward moves only. Open: started -> submitted -> in_review -> a decision; resubmission_requested ->
    -- submitted or in_review again (the next round) or a decision. Terminal: declined, expired, abandoned; an
    -- approval may only expire.
    SELECT CASE
               WHEN p_from IS NULL OR p_to IS NULL OR p_from = p_to THEN false
               WHEN p_from = 'approved' THEN p_to = 'expired'
               WHEN p_from IN ('declined', 'expired', 'abandoned') THEN false
               WHEN p_to = 'started' THEN false
               WHEN p_to = 'submitted' THEN p_from IN ('started', 'resubmission_requested')
               WHEN p_to = 'in_review' THEN p_from IN ('started', 'submitted', 'resubmission_requested')
               ELSE true
           END
$$;
COMMENT ON FUNCTION lp.kyc_status_move(lp.kyc_status, lp.kyc_status) IS 'Whether a verification may move from p_from to p_to (the order api.apply_kyc_webhook keeps): forward only, started -> submitted -> in_review -> approved, declined, resubmission_requested, expired or abandoned; after resubmission_requested the next round (submitted, in_review) or a decision; declined, expired and abandoned are terminal; approved only expires. Never to the same status. Owner only.';
REVOKE ALL ON FUNCTION lp.kyc_status_move(lp.kyc_status, lp.kyc_status) FROM PUBLIC;
