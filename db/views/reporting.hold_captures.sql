DROP VIEW IF EXISTS reporting.hold_captures CASCADE;
CREATE VIEW reporting.hold_captures WITH (security_invoker = false) AS
SELECT lp.pseudonym(c.id::text, k.key) AS id,
       lp.pseudonym(c.hold_id::text, k.key) AS hold_id,
       c.amount,
       c.fee_amount,
       lp.pseudonym(c.transaction_id::text, k.key) AS transaction_id,
       c.created_at
  FROM lp.hold_captures AS c
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.hold_captures IS 'Captures of holds. No idempotency key. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.hold_captures TO livepanty_readonly;
