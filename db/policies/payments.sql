-- Access to lp.payments: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payments FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.payments FROM livepanty_readonly;
SELECT lp.grant_select('lp.payments', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage payments" ON lp.payments FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own payments" ON lp.payments FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
CREATE POLICY "admins read every one of payments" ON lp.payments FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
