-- Access to lp.users: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.users FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.users FROM livepanty_readonly;
SELECT lp.grant_select('lp.users', ARRAY['livepanty_app', 'livepanty_service'], ARRAY['password_hash']);
CREATE POLICY "api functions manage users" ON lp.users FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own account" ON lp.users FOR SELECT TO livepanty_app, livepanty_service
    USING (id = (SELECT api.current_user_id()));
CREATE POLICY "staff read every account" ON lp.users FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
