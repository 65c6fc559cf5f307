-- No SET search_path (owner-only helper, see lp.kyc_refusal_from): inlined into the queries that call it.
CREATE FUNCTION lp.kyc_refusal(p_user_id uuid) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT lp.kyc_refusal_from((SELECT u.kyc_valid_until FROM lp.users AS u WHERE u.id = p_user_id))
$$;
COMMENT ON FUNCTION lp.kyc_refusal(uuid) IS 'The one KYC gate: NULL when the user holds a valid identity verification (approved, its document unexpired and within kyc.approval_valid_days of the approval), else why not: ''no approved identity verification'' or ''identity verification expired: re-verification needed''. Reads the cache lp.users.kyc_valid_until (lp.kyc_refusal_from). Used by the go-live gate (lp.go_live_gaps), the payee rule (lp.payee_refusal: api.tip, api.tip_many, api.place_hold) and payouts (api.request_payout, api.approve_payout, api.mark_payout_paid). Owner only.';
REVOKE ALL ON FUNCTION lp.kyc_refusal(uuid) FROM PUBLIC;
