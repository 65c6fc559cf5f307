-- Access to lp.user_preferences: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.user_preferences ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.user_preferences FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.user_preferences FROM livepanty_readonly;
SELECT lp.grant_select('lp.user_preferences', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage user_preferences" ON lp.user_preferences FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own preferences" ON lp.user_preferences FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
CREATE POLICY "admins read all preferences" ON lp.user_preferences FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
