DROP VIEW IF EXISTS reporting.reports CASCADE;
CREATE VIEW reporting.reports WITH (security_invoker = false) AS
SELECT lp.pseudonym(r.id::text, k.key) AS id,
       lp.pseudonym(r.reporter_id::text, k.key) AS reporter_id,
       lp.pseudonym(r.reported_user_id::text, k.key) AS reported_user_id,
       lp.pseudonym(r.stream_id::text, k.key) AS stream_id,
       r.reason,
       r.status,
       r.priority,
       lp.pseudonym(r.assigned_to::text, k.key) AS assigned_to,
       lp.pseudonym(r.resolved_by::text, k.key) AS resolved_by,
       r.resolved_at,
       r.escalated_at,
       r.created_at,
       r.updated_at
  FROM lp.reports AS r
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.reports IS 'User reports (reason is a category). No description or resolution text. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.reports TO livepanty_readonly;
