-- No SET search_path (an exception to docs/CONVENTIONS.md, allowed by the catalog test for owner-only helpers):
-- a SQL function with a SET clause is never inlined, and api.tip and api.tip_many evaluate this one inside the
-- read they already make (per tip, set-based, in api.tip_many). IMMUTABLE: a pure function of its arguments,
-- each used once, so the planner inlines it as a plain CASE and p_sanctioned is only evaluated when reached.
CREATE FUNCTION lp.payee_refusal(
    p_payer      uuid,
    p_payee_id   uuid,
    p_found      boolean,
    p_role       lp.user_role,
    p_sanctioned boolean,
    p_blocked    boolean,
    p_kyc        text
) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    -- Who may be paid (a tip, a hold): the one rule, checks in this order. A NULL counts as a refusal.
    SELECT CASE
               WHEN p_payee_id = p_payer THEN 'LP101'
               WHEN p_found IS NOT TRUE THEN 'LP003'
               WHEN p_role IS DISTINCT FROM 'performer' THEN 'LP102'
               WHEN p_sanctioned IS NOT FALSE THEN 'LP108'
               WHEN p_kyc IS NOT NULL THEN 'LP135'
               WHEN p_blocked IS NOT FALSE THEN 'LP124'
           END
$$;
COMMENT ON FUNCTION lp.payee_refusal(uuid, uuid, boolean, lp.user_role, boolean, boolean, text) IS 'Who may be paid, the one rule of api.tip, api.tip_many and api.place_hold: the LP code refusing p_payee_id as the payee of p_payer, or NULL when the payment may go ahead. LP101 the payer themselves, LP003 no such (undeleted) user (p_found false), LP102 not a performer (p_role), LP108 a suspension or ban in force (p_sanctioned: lp.sanctioned), LP135 no valid identity verification (p_kyc: the KYC gate''s reason, lp.kyc_refusal_from of the payee''s kyc_valid_until, NULL when verified), LP124 the payee has blocked the payer (p_blocked: a row of lp.performer_blocks). The caller reads the user; lp.refuse_payee raises the code, lp.payee_refusal_message words it. Owner only.';
REVOKE ALL ON FUNCTION lp.payee_refusal(uuid, uuid, boolean, lp.user_role, boolean, boolean, text) FROM PUBLIC;
