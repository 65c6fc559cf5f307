-- Access to lp.holds: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.holds ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.holds FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.holds FROM livepanty_readonly;
SELECT lp.grant_select('lp.holds', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage holds" ON lp.holds FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "holders read their holds" ON lp.holds FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
CREATE POLICY "payees read the holds made for them" ON lp.holds FOR SELECT TO livepanty_app, livepanty_service
    USING (payee_id = (SELECT api.current_user_id()));
CREATE POLICY "admins read every hold" ON lp.holds FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
