-- Access to lp.idempotency_keys: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.idempotency_keys FORCE ROW LEVEL SECURITY;
-- Stored requests and responses are the api functions' business only.
REVOKE ALL ON lp.idempotency_keys FROM livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage idempotency_keys" ON lp.idempotency_keys FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
