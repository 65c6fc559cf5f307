DROP VIEW IF EXISTS reporting.user_sanctions CASCADE;
CREATE VIEW reporting.user_sanctions WITH (security_invoker = false) AS
SELECT lp.pseudonym(us.id::text, k.key) AS id,
       lp.pseudonym(us.user_id::text, k.key) AS user_id,
       us.sanction_type,
       lp.pseudonym(us.report_id::text, k.key) AS report_id,
       lp.pseudonym(us.issued_by::text, k.key) AS issued_by,
       us.starts_at,
       us.ends_at,
       us.revoked_at,
       lp.pseudonym(us.revoked_by::text, k.key) AS revoked_by,
       us.created_at
  FROM lp.user_sanctions AS us
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.user_sanctions IS 'Sanctions. No reason or revoke reason text. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.user_sanctions TO livepanty_readonly;
