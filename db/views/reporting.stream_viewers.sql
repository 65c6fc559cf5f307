DROP VIEW IF EXISTS reporting.stream_viewers CASCADE;
CREATE VIEW reporting.stream_viewers WITH (security_invoker = false) AS
SELECT lp.pseudonym(v.id::text, k.key) AS id,
       lp.pseudonym(v.stream_id::text, k.key) AS stream_id,
       lp.pseudonym(v.user_id::text, k.key) AS user_id,
       v.joined_at,
       v.last_heartbeat_at,
       v.left_at
  FROM lp.stream_viewers AS v
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.stream_viewers IS 'Viewing sessions. No IP address. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.stream_viewers TO livepanty_readonly;
