-- Access to lp.transfers_in: owner code only (the shard functions of db/shard and api functions); no role reads it directly.
ALTER TABLE lp.transfers_in ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.transfers_in FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.transfers_in FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "owner code only" ON lp.transfers_in FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
