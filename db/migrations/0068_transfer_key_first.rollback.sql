-- Undo 0068_transfer_key_first: the cross-shard tips' unique key leads with the sender again.
SET ROLE livepanty_owner;

DROP INDEX lp.transfers_out_tip_key_idx;
CREATE UNIQUE INDEX transfers_out_tip_key_idx ON lp.transfers_out (sender_id, idempotency_key)
    WHERE hold_id IS NULL AND refund_of IS NULL;

RESET ROLE;
