DROP VIEW IF EXISTS reporting.token_bundles CASCADE;
CREATE VIEW reporting.token_bundles WITH (security_invoker = false) AS
SELECT b.code,
       b.tokens,
       b.price_minor,
       b.currency,
       b.active,
       b.created_at,
       b.updated_at
  FROM lp.token_bundles AS b
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.token_bundles IS 'Token bundles and prices (retired ones too). Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.token_bundles TO livepanty_readonly;
