-- Access to lp.earnings_checkpoints: owner code only (api functions); no role reads it directly.
ALTER TABLE lp.earnings_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.earnings_checkpoints FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.earnings_checkpoints FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage earnings_checkpoints" ON lp.earnings_checkpoints FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
