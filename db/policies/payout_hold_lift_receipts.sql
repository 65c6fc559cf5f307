-- Access to lp.payout_hold_lift_receipts: owner code only (the shard functions of db/shard); no role reads it directly.
ALTER TABLE lp.payout_hold_lift_receipts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payout_hold_lift_receipts FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.payout_hold_lift_receipts FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "owner code only" ON lp.payout_hold_lift_receipts FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
