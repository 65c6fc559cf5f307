-- Access to lp.spend_counters: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.spend_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.spend_counters FORCE ROW LEVEL SECURITY;
-- The fraud controls' counters are the api functions' business only (api.get_fraud_limits shows a user theirs).
REVOKE ALL ON lp.spend_counters FROM livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage spend_counters" ON lp.spend_counters FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
