-- Access to lp.audit_logs: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.audit_logs FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.audit_logs FROM livepanty_readonly;
SELECT lp.grant_select('lp.audit_logs', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage audit_logs" ON lp.audit_logs FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
-- Admins read the audit trail, but a reported admin not the report.file rows of the reports about them: their
-- actor is the reporter (as RLS on lp.reports and lp.report_filings keeps the case and its filings from the
-- user it is against; lp.filed_against_reader).
CREATE POLICY "admins read the audit trail" ON lp.audit_logs FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin'
           AND CASE WHEN action = 'report.file' THEN NOT lp.filed_against_reader(target_id, details) ELSE true END);
