DROP VIEW IF EXISTS reporting.holds CASCADE;
CREATE VIEW reporting.holds WITH (security_invoker = false) AS
SELECT lp.pseudonym(h.id::text, k.key) AS id,
       lp.pseudonym(h.user_id::text, k.key) AS user_id,
       lp.pseudonym(h.wallet_id::text, k.key) AS wallet_id,
       lp.pseudonym(h.payee_id::text, k.key) AS payee_id,
       lp.pseudonym(h.stream_id::text, k.key) AS stream_id,
       h.purpose,
       h.amount,
       h.captured,
       h.status,
       h.expires_at,
       h.closed_at,
       h.created_at,
       h.updated_at
  FROM lp.holds AS h
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.holds IS 'Holds (reservations of a holder''s balance for a payee). No idempotency key. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.holds TO livepanty_readonly;
