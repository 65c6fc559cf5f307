-- Undo 0044_sanction_requests. Refused while a request or a receipt exists: they are the only record of a
-- sanction decided on one shard for a user of another.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.sanction_requests) OR EXISTS (SELECT 1 FROM lp.sanction_receipts) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP204',
            MESSAGE = 'cross-shard sanction requests exist: this database cannot go back before 0044';
    END IF;
END
$$;
SET ROLE livepanty_owner;
DROP TABLE lp.sanction_receipts;
DROP TABLE lp.sanction_requests;
RESET ROLE;
