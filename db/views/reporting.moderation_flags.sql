DROP VIEW IF EXISTS reporting.moderation_flags CASCADE;
CREATE VIEW reporting.moderation_flags WITH (security_invoker = false) AS
SELECT lp.pseudonym(f.id::text, k.key) AS id,
       lp.pseudonym(f.stream_id::text, k.key) AS stream_id,
       lp.pseudonym(f.user_id::text, k.key) AS user_id,
       f.content_type,
       f.detector,
       f.category,
       f.confidence,
       f.status,
       f.priority,
       lp.pseudonym(f.reviewed_by::text, k.key) AS reviewed_by,
       f.reviewed_at,
       f.created_at
  FROM lp.moderation_flags AS f
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.moderation_flags IS 'Automated moderation flags. No content reference, details or review notes. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.moderation_flags TO livepanty_readonly;
