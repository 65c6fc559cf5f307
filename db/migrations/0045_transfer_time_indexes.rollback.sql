-- Undo 0045_transfer_time_indexes (indexes only: nothing is lost).
SET ROLE livepanty_owner;
DROP INDEX lp.transfers_in_created_brin;
DROP INDEX lp.transfers_out_created_brin;
RESET ROLE;
