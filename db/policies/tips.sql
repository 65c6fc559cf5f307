-- Access to lp.tips: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.tips ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.tips FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.tips FROM livepanty_readonly;
SELECT lp.grant_select('lp.tips', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage tips" ON lp.tips FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "senders read the tips they sent" ON lp.tips FOR SELECT TO livepanty_app, livepanty_service
    USING (sender_id = (SELECT api.current_user_id()));
-- Anonymous tips name their sender, so recipients read those only through api functions that mask it.
CREATE POLICY "performers read the signed tips they received" ON lp.tips FOR SELECT TO livepanty_app, livepanty_service
    USING (recipient_id = (SELECT api.current_user_id()) AND NOT is_anonymous);
CREATE POLICY "admins read every tip" ON lp.tips FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
