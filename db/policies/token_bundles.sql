-- Access to lp.token_bundles: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.token_bundles ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.token_bundles FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.token_bundles FROM livepanty_readonly;
SELECT lp.grant_select('lp.token_bundles', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage token_bundles" ON lp.token_bundles FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "signed-in users read bundles on sale" ON lp.token_bundles FOR SELECT TO livepanty_app, livepanty_service
    USING (active AND (SELECT api.current_user_id()) IS NOT NULL);
CREATE POLICY "admins read every bundle" ON lp.token_bundles FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
