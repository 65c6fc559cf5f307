-- Undo 0059_payout_hold_lifts. Refused while a lift or a receipt exists: they are the only record of a payout_hold
-- lifted on another shard by a dismissal.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.payout_hold_lifts) OR EXISTS (SELECT 1 FROM lp.payout_hold_lift_receipts) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP204',
            MESSAGE = 'cross-shard payout_hold lifts exist: this database cannot go back before 0059';
    END IF;
END
$$;
SET ROLE livepanty_owner;
DROP TABLE lp.payout_hold_lift_receipts;
DROP TABLE lp.payout_hold_lifts;
DROP INDEX lp.payout_hold_requests_case_idx;
RESET ROLE;
