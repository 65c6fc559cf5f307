-- Access to lp.settings: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.settings FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.settings FROM livepanty_readonly;
SELECT lp.grant_select('lp.settings', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage settings" ON lp.settings FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "admins read settings" ON lp.settings FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
