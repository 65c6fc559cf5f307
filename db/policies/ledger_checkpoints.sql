-- Access to lp.ledger_checkpoints: owner code only (api functions); no role reads it directly.
ALTER TABLE lp.ledger_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.ledger_checkpoints FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.ledger_checkpoints FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage ledger_checkpoints" ON lp.ledger_checkpoints FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
