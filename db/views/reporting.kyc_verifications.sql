DROP VIEW IF EXISTS reporting.kyc_verifications CASCADE;
CREATE VIEW reporting.kyc_verifications WITH (security_invoker = false) AS
SELECT lp.pseudonym(kv.id::text, k.key) AS id,
       lp.pseudonym(kv.user_id::text, k.key) AS user_id,
       kv.level,
       kv.status,
       kv.provider,
       kv.document_type,
       kv.verification_score,
       kv.submitted_at,
       kv.reviewed_at,
       lp.pseudonym(kv.reviewed_by::text, k.key) AS reviewed_by,
       kv.created_at,
       -- The month of the last change, not its time: an approval whose document expired is marked expired by
       -- api.expire_kyc_approvals right after, so its updated_at gave the document's expiry away.
       date_trunc('month', kv.updated_at AT TIME ZONE 'UTC')::date AS updated_month
  FROM lp.kyc_verifications AS kv
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.kyc_verifications IS 'KYC verifications: status, level, document type, the dates of submission and review. No document or selfie location, legal name, verified date of birth, provider reference or rejection text, and neither the document''s issuing country nor its expiry (expires_at): together they narrow its holder down, and no report needs them; nor the time of the last change (updated_month: its UTC month, the first day of it), which for an approval marked expired follows the document''s expiry. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.kyc_verifications TO livepanty_readonly;
