-- Undo 0043_cross_shard_goal_refunds. Refused while a refund of a cross-shard tip exists (its row is the only
-- record of tokens sent back to, or received from, another shard), and while a cross-shard tip waits in escrow
-- (the functions before 0043 would settle it as a tip of this shard: the whole amount out of an escrow that
-- holds it less the fee, or back to a stub that has no wallet).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.transfers_out WHERE refund_of IS NOT NULL)
       OR EXISTS (SELECT 1 FROM lp.transfers_in WHERE refund_of IS NOT NULL)
       OR EXISTS (SELECT 1 FROM lp.tips AS t
                    JOIN lp.transfers_in AS i ON i.id = t.id AND i.hold_id IS NULL
                   WHERE t.status = 'escrowed') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP204',
            MESSAGE = 'refunds of cross-shard tips exist: this database cannot go back before 0043';
    END IF;
END
$$;
SET ROLE livepanty_owner;
DROP INDEX lp.transfers_in_refund_idx;
ALTER TABLE lp.transfers_in DROP COLUMN refund_of;
COMMENT ON COLUMN lp.transfers_in.amount IS 'What the performer received: the tip''s amount less the fee the sender''s shard kept.';
DROP INDEX lp.transfers_out_refund_idx;
DROP INDEX lp.transfers_out_tip_key_idx;
CREATE UNIQUE INDEX transfers_out_tip_key_idx ON lp.transfers_out (sender_id, idempotency_key) WHERE hold_id IS NULL;
ALTER TABLE lp.transfers_out DROP COLUMN refund_of;
RESET ROLE;
