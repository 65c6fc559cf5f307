-- Access to lp.spending_limits: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.spending_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.spending_limits FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.spending_limits FROM livepanty_readonly;
SELECT lp.grant_select('lp.spending_limits', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage spending_limits" ON lp.spending_limits FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own limits" ON lp.spending_limits FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
CREATE POLICY "admins read every limit" ON lp.spending_limits FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
