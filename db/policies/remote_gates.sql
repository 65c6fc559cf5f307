-- Access to lp.remote_gates: owner code only (lp.go_live_gaps and the shard functions of db/shard); no role reads it directly.
ALTER TABLE lp.remote_gates ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.remote_gates FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.remote_gates FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "owner code only" ON lp.remote_gates FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
