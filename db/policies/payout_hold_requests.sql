-- Access to lp.payout_hold_requests: owner code only (the shard functions of db/shard and lp.fraud_on_chargeback); no role reads it directly.
ALTER TABLE lp.payout_hold_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payout_hold_requests FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.payout_hold_requests FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "owner code only" ON lp.payout_hold_requests FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
