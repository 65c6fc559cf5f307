DROP VIEW IF EXISTS reporting.payouts CASCADE;
CREATE VIEW reporting.payouts WITH (security_invoker = false) AS
SELECT lp.pseudonym(po.id::text, k.key) AS id,
       lp.pseudonym(po.user_id::text, k.key) AS user_id,
       lp.pseudonym(po.kyc_verification_id::text, k.key) AS kyc_verification_id,
       po.tokens,
       po.tokens_per_unit,
       po.amount_minor,
       po.currency,
       po.method,
       po.status,
       lp.pseudonym(po.reviewed_by::text, k.key) AS reviewed_by,
       po.reviewed_at,
       po.paid_at,
       po.created_at,
       po.updated_at
  FROM lp.payouts AS po
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.payouts IS 'Payouts: amounts, method and status. No destination details (provider reference), no rejection or failure text, no idempotency key. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.payouts TO livepanty_readonly;
