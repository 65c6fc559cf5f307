-- Access to lp.payout_hold_receipts: owner code only (the shard functions of db/shard and lp.fraud_on_chargeback); no role reads it directly.
ALTER TABLE lp.payout_hold_receipts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payout_hold_receipts FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.payout_hold_receipts FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "owner code only" ON lp.payout_hold_receipts FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
