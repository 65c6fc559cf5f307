-- Access to lp.password_reset_tokens: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.password_reset_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.password_reset_tokens FORCE ROW LEVEL SECURITY;
-- Applications never read reset tokens, not even their metadata: only the api functions do.
REVOKE ALL ON lp.password_reset_tokens FROM livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage password_reset_tokens" ON lp.password_reset_tokens FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
