DROP VIEW IF EXISTS reporting.settings CASCADE;
CREATE VIEW reporting.settings WITH (security_invoker = false) AS
SELECT se.key,
       se.value,
       se.description,
       se.updated_at,
       lp.pseudonym(se.updated_by::text, k.key) AS updated_by
  FROM lp.settings AS se
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.settings IS 'Runtime settings; updated_by is the pseudonym of the admin who last changed one. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.settings TO livepanty_readonly;
