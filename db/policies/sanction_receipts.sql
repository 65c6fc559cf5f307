-- Access to lp.sanction_receipts: owner code only (api.resolve_case and the shard functions of db/shard); no role reads it directly.
ALTER TABLE lp.sanction_receipts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.sanction_receipts FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.sanction_receipts FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "owner code only" ON lp.sanction_receipts FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
