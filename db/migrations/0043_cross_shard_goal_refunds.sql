-- 0043: tips across shards toward a goal that refunds when missed (issue 12, docs/scale-out.md, "Goals that
-- refund across shards"). Such a tip waits in the goal escrow of the performer's shard; when its goal is missed
-- or cancelled, api.settle_tip_goals sends it back to the sender's shard through the outbox (a row naming the
-- tip it refunds), and the relay credits the sender there exactly once.
SET ROLE livepanty_owner;

ALTER TABLE lp.transfers_out ADD COLUMN refund_of uuid;
-- One key names one tip of a sender; captures (hold_id) and refunds (refund_of) are outside that rule.
DROP INDEX lp.transfers_out_tip_key_idx;
CREATE UNIQUE INDEX transfers_out_tip_key_idx ON lp.transfers_out (sender_id, idempotency_key)
    WHERE hold_id IS NULL AND refund_of IS NULL;
CREATE UNIQUE INDEX transfers_out_refund_idx ON lp.transfers_out (refund_of) WHERE refund_of IS NOT NULL;
COMMENT ON COLUMN lp.transfers_out.refund_of IS 'On the performer''s shard: the escrowed cross-shard tip (lp.tips.id = its transfer id) this row sends back to its sender on to_shard, its goal missed or cancelled (api.settle_tip_goals; amount = what the escrow held, fee 0). At most one per tip. NULL for a tip or a capture.';

ALTER TABLE lp.transfers_in ADD COLUMN refund_of uuid;
CREATE UNIQUE INDEX transfers_in_refund_idx ON lp.transfers_in (refund_of) WHERE refund_of IS NOT NULL;
COMMENT ON COLUMN lp.transfers_in.refund_of IS 'On the sender''s shard: the cross-shard tip (lp.transfers_out.id) this transfer gave back to its sender, its goal missed on from_shard (the sender credited with the whole tip: amount from the in-transit wallet, the fee from this shard''s platform fees). At most one per tip. NULL otherwise.';

COMMENT ON COLUMN lp.transfers_in.amount IS 'What came out of the in-transit wallet: for a tip or a capture what the performer received (or the goal escrow holds), the amount less the fee the sender''s shard kept; for a refund (refund_of) what the escrow sent back (the sender is credited tip_amount, the fee coming from this shard''s platform fees).';

RESET ROLE;
