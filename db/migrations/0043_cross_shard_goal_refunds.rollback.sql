-- Undo 0043_cross_shard_goal_refunds. Refused while a refund of a cross-shard tip exists: its row is the only
-- record of tokens sent back to, or received from, another shard.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.transfers_out WHERE refund_of IS NOT NULL)
       OR EXISTS (SELECT 1 FROM lp.transfers_in WHERE refund_of IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP204',
            MESSAGE = 'refunds of cross-shard tips exist: this database cannot go back before 0043';
    END IF;
END
$$;
SET ROLE livepanty_owner;
DROP INDEX lp.transfers_in_refund_idx;
ALTER TABLE lp.transfers_in DROP COLUMN refund_of;
DROP INDEX lp.transfers_out_refund_idx;
DROP INDEX lp.transfers_out_tip_key_idx;
CREATE UNIQUE INDEX transfers_out_tip_key_idx ON lp.transfers_out (sender_id, idempotency_key) WHERE hold_id IS NULL;
ALTER TABLE lp.transfers_out DROP COLUMN refund_of;
RESET ROLE;
