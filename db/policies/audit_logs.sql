-- Access to lp.audit_logs: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.audit_logs FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.audit_logs FROM livepanty_readonly;
SELECT lp.grant_select('lp.audit_logs', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage audit_logs" ON lp.audit_logs FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "admins read the audit trail" ON lp.audit_logs FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
