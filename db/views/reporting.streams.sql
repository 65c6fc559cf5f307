DROP VIEW IF EXISTS reporting.streams CASCADE;
CREATE VIEW reporting.streams WITH (security_invoker = false) AS
SELECT lp.pseudonym(st.id::text, k.key) AS id,
       lp.pseudonym(st.host_id::text, k.key) AS host_id,
       st.category,
       st.status,
       st.visibility,
       st.is_mature,
       st.scheduled_at,
       st.started_at,
       st.ended_at,
       st.peak_viewers,
       st.created_at,
       st.updated_at,
       st.deleted_at
  FROM lp.streams AS st
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.streams IS 'Streams (deleted ones too). No title, description, tags, thumbnail or stream key. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.streams TO livepanty_readonly;
