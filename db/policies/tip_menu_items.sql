-- Access to lp.tip_menu_items: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.tip_menu_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.tip_menu_items FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.tip_menu_items FROM livepanty_readonly;
SELECT lp.grant_select('lp.tip_menu_items', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage tip_menu_items" ON lp.tip_menu_items FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
-- A menu is public to signed-in users while active; its performer and staff see the inactive items too.
CREATE POLICY "signed-in users read active menu items" ON lp.tip_menu_items FOR SELECT TO livepanty_app, livepanty_service
    USING (is_active AND (SELECT api.current_user_id()) IS NOT NULL);
CREATE POLICY "performers read their whole menu" ON lp.tip_menu_items FOR SELECT TO livepanty_app, livepanty_service
    USING (performer_id = (SELECT api.current_user_id()));
CREATE POLICY "staff read every menu" ON lp.tip_menu_items FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
