-- Access to lp.transfers_out: owner code only (the shard functions of db/shard and api functions); no role reads it directly.
ALTER TABLE lp.transfers_out ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.transfers_out FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.transfers_out FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "owner code only" ON lp.transfers_out FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
