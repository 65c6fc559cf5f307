DROP VIEW IF EXISTS reporting.payments CASCADE;
CREATE VIEW reporting.payments WITH (security_invoker = false) AS
SELECT lp.pseudonym(pm.id::text, k.key) AS id,
       lp.pseudonym(pm.user_id::text, k.key) AS user_id,
       pm.provider,
       pm.bundle_code,
       pm.tokens,
       pm.amount_minor,
       pm.currency,
       pm.status,
       pm.created_at,
       pm.updated_at,
       pm.completed_at,
       pm.refunded_at,
       pm.charged_back_at,
       pm.recovered_tokens,
       pm.written_off_tokens,
       pm.debt_tokens
  FROM lp.payments AS pm
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.payments IS 'Token purchases. No provider reference (it identifies the card payment at the provider), no failure or reversal text, no idempotency key. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.payments TO livepanty_readonly;
