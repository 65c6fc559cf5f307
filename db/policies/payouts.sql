-- Access to lp.payouts: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.payouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payouts FORCE ROW LEVEL SECURITY;
SELECT lp.grant_select('lp.payouts', ARRAY['livepanty_app', 'livepanty_service', 'livepanty_readonly']);
CREATE POLICY "api functions manage payouts" ON lp.payouts FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "reporting reads payouts" ON lp.payouts FOR SELECT TO livepanty_readonly USING (true);
CREATE POLICY "users read their own payouts" ON lp.payouts FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
CREATE POLICY "admins read every one of payouts" ON lp.payouts FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
