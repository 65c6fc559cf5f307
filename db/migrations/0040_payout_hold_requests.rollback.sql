-- Undo 0040_payout_hold_requests. Refused while a request or a receipt exists: they are the only record of a hold
-- asked of, or applied for, another shard.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.payout_hold_requests) OR EXISTS (SELECT 1 FROM lp.payout_hold_receipts) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP204',
            MESSAGE = 'cross-shard payout holds exist: this database cannot go back before 0040';
    END IF;
END
$$;
SET ROLE livepanty_owner;
DROP TABLE lp.payout_hold_receipts;
DROP TABLE lp.payout_hold_requests;
RESET ROLE;
