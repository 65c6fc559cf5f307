-- Access to lp.remote_users: owner code only (the shard functions of db/shard); no role reads it directly.
ALTER TABLE lp.remote_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.remote_users FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.remote_users FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "owner code only" ON lp.remote_users FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
