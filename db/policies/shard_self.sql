-- Access to lp.shard_self: owner code only (the shard functions of db/shard and api functions); no role reads it directly.
ALTER TABLE lp.shard_self ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.shard_self FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.shard_self FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "owner code only" ON lp.shard_self FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
