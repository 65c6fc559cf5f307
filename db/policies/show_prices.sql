-- Access to lp.show_prices: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.show_prices ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.show_prices FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.show_prices FROM livepanty_readonly;
SELECT lp.grant_select('lp.show_prices', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage show_prices" ON lp.show_prices FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
-- Prices are public to signed-in users while offered; the performer and staff see them all.
CREATE POLICY "signed-in users read offered show prices" ON lp.show_prices FOR SELECT TO livepanty_app, livepanty_service
    USING (is_enabled AND (SELECT api.current_user_id()) IS NOT NULL);
CREATE POLICY "performers read their show prices" ON lp.show_prices FOR SELECT TO livepanty_app, livepanty_service
    USING (performer_id = (SELECT api.current_user_id()));
CREATE POLICY "staff read every show price" ON lp.show_prices FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
