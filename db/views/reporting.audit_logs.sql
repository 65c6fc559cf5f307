DROP VIEW IF EXISTS reporting.audit_logs CASCADE;
CREATE VIEW reporting.audit_logs WITH (security_invoker = false) AS
SELECT lp.pseudonym(al.id::text, k.key) AS id,
       (al.occurred_at AT TIME ZONE 'UTC')::date AS occurred_on,
       lp.pseudonym(al.actor_id::text, k.key) AS actor_id,
       al.actor_role,
       al.action,
       al.target_type,
       -- kyc.approval_expired is written when a verification's document expired (or its approval period ran
       -- out): on which day, but not whose (reporting.kyc_verifications gives the month of that change only).
       CASE WHEN al.action = 'kyc.approval_expired' THEN NULL
            WHEN al.target_type IN ('setting', 'bundle') THEN al.target_id
            ELSE lp.pseudonym(al.target_id, k.key) END AS target_id
  FROM lp.audit_logs AS al
  CROSS JOIN (SELECT s.value FROM lp.secrets AS s WHERE s.name = 'pseudonym') AS k (key);
COMMENT ON VIEW reporting.audit_logs IS 'The audit trail: on which UTC day (not at what time: registrations, logins and failed logins are audited, and reporting.users gives their dates only) who (pseudonym, platform role) did what to which target (a pseudonym, except setting keys and bundle codes; none for kyc.approval_expired, whose day would date a KYC document''s expiry). No IP address, details or database login name. Ids are pseudonyms (docs/reporting.md). Definer view: runs as the owner, livepanty_readonly needs no privilege on lp.';
GRANT SELECT ON reporting.audit_logs TO livepanty_readonly;
