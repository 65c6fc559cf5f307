-- Access to lp.password_reset_tokens: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.password_reset_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.password_reset_tokens FORCE ROW LEVEL SECURITY;
-- Applications never read reset tokens, not even their metadata: only the api functions do.
REVOKE ALL ON lp.password_reset_tokens FROM livepanty_app, livepanty_service;
SELECT lp.grant_select('lp.password_reset_tokens', ARRAY['livepanty_readonly'], ARRAY['token_hash']);
CREATE POLICY "api functions manage password_reset_tokens" ON lp.password_reset_tokens FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "reporting reads password_reset_tokens" ON lp.password_reset_tokens FOR SELECT TO livepanty_readonly USING (true);
