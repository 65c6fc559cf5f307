DROP VIEW IF EXISTS reporting.ledger CASCADE;
CREATE VIEW reporting.ledger WITH (security_invoker = false) AS
SELECT lp.pseudonym(l.id::text, k.key) AS id,
       lp.pseudonym(l.transaction_id::text, k.key) AS transaction_id,
       lp.pseudonym(l.wallet_id::text, k.key) AS wallet_id,
       l.shard,
       l.amount,
       l.balance_before,
       l.balance_after,
       l.entry_kind,
       l.reference_type,
       lp.pseudonym(l.reference_id::text, k.key) AS reference_id,
       l.created_at
  FROM lp.ledger AS l
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.ledger IS 'Every ledger entry; reference_id is the pseudonym of the payment, tip, hold, payout or adjustment (joins their id). No description text. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.ledger TO livepanty_readonly;
