-- 0068: a cross-shard tip's idempotency key is claimed in a unique index that leads with the key,
-- lp.transfers_out (idempotency_key, sender_id), as 0067 did for lp.tips: the same uniqueness (a key names one
-- tip of a sender; captures and refunds stay outside the rule), the same lookups (both columns are always
-- given; ON CONFLICT infers the index from the set of its columns), and time-ordered keys (livepanty_db's
-- new_idempotency_key()) land at the right edge of the index instead of in each sender's part of it.
-- Building the index locks out cross-shard tips on this shard for the time of the build.
SET ROLE livepanty_owner;

DROP INDEX lp.transfers_out_tip_key_idx;
CREATE UNIQUE INDEX transfers_out_tip_key_idx ON lp.transfers_out (idempotency_key, sender_id)
    WHERE hold_id IS NULL AND refund_of IS NULL;

RESET ROLE;
