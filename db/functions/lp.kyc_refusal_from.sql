-- No SET search_path (owner-only helper, an exception the catalog test allows): a SQL function with a SET
-- clause is never inlined, and api.tip and api.tip_many evaluate this one on the payee's lp.users row inside the
-- read they already make. STABLE (statement_timestamp(): a gate closed by a transaction that committed after this
-- one began counts at once, as a sanction does in lp.sanction_refusal).
CREATE FUNCTION lp.kyc_refusal_from(p_kyc_valid_until timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE
               WHEN p_kyc_valid_until > statement_timestamp() THEN NULL
               WHEN p_kyc_valid_until IS NULL THEN 'no approved identity verification'
               ELSE 'identity verification expired: re-verification needed'
           END
$$;
COMMENT ON FUNCTION lp.kyc_refusal_from(timestamptz) IS 'The KYC gate on a user''s cached lp.users.kyc_valid_until: NULL while it is in the future (a valid identity verification), else why not (never approved; expired: re-verification needed). Used by lp.kyc_refusal and, on the row they already read, by api.tip and api.tip_many (through lp.payee_refusal) and api.settle_tip_goals. Owner only.';
REVOKE ALL ON FUNCTION lp.kyc_refusal_from(timestamptz) FROM PUBLIC;
