-- Access to lp.payout_hold_lifts: owner code only (api.resolve_case and the shard functions of db/shard); no role reads it directly.
ALTER TABLE lp.payout_hold_lifts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payout_hold_lifts FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.payout_hold_lifts FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "owner code only" ON lp.payout_hold_lifts FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
