DROP VIEW IF EXISTS reporting.tips CASCADE;
CREATE VIEW reporting.tips WITH (security_invoker = false) AS
SELECT lp.pseudonym(t.id::text, k.key) AS id,
       lp.pseudonym(t.sender_id::text, k.key) AS sender_id,
       lp.pseudonym(t.recipient_id::text, k.key) AS recipient_id,
       lp.pseudonym(t.stream_id::text, k.key) AS stream_id,
       t.amount,
       t.fee_amount,
       t.is_anonymous,
       t.status,
       lp.pseudonym(t.transaction_id::text, k.key) AS transaction_id,
       t.created_at
  FROM lp.tips AS t
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.tips IS 'Every tip (anonymous ones too, by sender pseudonym). No message, no idempotency key. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.tips TO livepanty_readonly;
