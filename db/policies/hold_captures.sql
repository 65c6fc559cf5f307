-- Access to lp.hold_captures: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.hold_captures ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.hold_captures FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.hold_captures FROM livepanty_readonly;
SELECT lp.grant_select('lp.hold_captures', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage hold_captures" ON lp.hold_captures FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "holders and payees read captures" ON lp.hold_captures FOR SELECT TO livepanty_app, livepanty_service
    USING (hold_id IN (SELECT h.id FROM lp.holds AS h WHERE h.user_id = (SELECT api.current_user_id()) OR h.payee_id = (SELECT api.current_user_id())));
CREATE POLICY "admins read every capture" ON lp.hold_captures FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
