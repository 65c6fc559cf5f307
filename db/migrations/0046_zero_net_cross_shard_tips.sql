-- 0046: a cross-shard tip whose fee is the whole amount (tips.fee_bps 10000) carries no tokens to the
-- performer's shard, but it is still a tip there (their tips, stream statistics, goal progress, the stream's
-- event), as on one node. Until now the sender's shard marked such a tip delivered at once and the relay never
-- took it. From now on it travels like any other (shard.tip_out): lp.transfers_in takes a row of 0 tokens, and
-- a goal refund of such a tip (0 tokens in the escrow, the fee still owed back to its sender) an outbox row of
-- 0 tokens. The ones already marked delivered were never sent: they go back to pending, for the relay.
SET ROLE livepanty_owner;
ALTER TABLE lp.transfers_out DROP CONSTRAINT transfers_out_amount_check,
    ADD CONSTRAINT transfers_out_amount_check CHECK (amount > 0 OR (amount = 0 AND refund_of IS NOT NULL));
ALTER TABLE lp.transfers_in DROP CONSTRAINT transfers_in_check,
    ADD CONSTRAINT transfers_in_check CHECK (amount >= 0 AND amount <= tip_amount);
RESET ROLE;
-- As the migrating superuser (row level security is forced on the outbox).
UPDATE lp.transfers_out AS o SET status = 'pending', delivered_at = NULL
 WHERE o.status = 'delivered' AND o.amount = o.fee_amount AND o.hold_id IS NULL AND o.refund_of IS NULL;
