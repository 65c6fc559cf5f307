-- Access to lp.wallets: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.wallets ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.wallets FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.wallets FROM livepanty_readonly;
SELECT lp.grant_select('lp.wallets', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage wallets" ON lp.wallets FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own wallet" ON lp.wallets FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
CREATE POLICY "admins read every wallet" ON lp.wallets FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
