-- Access to lp.auth_sessions: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.auth_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.auth_sessions FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.auth_sessions FROM livepanty_readonly;
SELECT lp.grant_select('lp.auth_sessions', ARRAY['livepanty_app', 'livepanty_service'], ARRAY['token_hash']);
CREATE POLICY "api functions manage auth_sessions" ON lp.auth_sessions FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own sessions" ON lp.auth_sessions FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
CREATE POLICY "admins read all sessions" ON lp.auth_sessions FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
