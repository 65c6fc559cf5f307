DROP VIEW IF EXISTS reporting.adjustments CASCADE;
CREATE VIEW reporting.adjustments WITH (security_invoker = false) AS
SELECT lp.pseudonym(a.id::text, k.key) AS id,
       lp.pseudonym(a.user_id::text, k.key) AS user_id,
       a.amount,
       lp.pseudonym(a.created_by::text, k.key) AS created_by,
       lp.pseudonym(a.transaction_id::text, k.key) AS transaction_id,
       a.created_at
  FROM lp.adjustments AS a
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.adjustments IS 'Admin adjustments. No reason text, no idempotency key. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.adjustments TO livepanty_readonly;
