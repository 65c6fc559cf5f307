-- Undo 0039_transfers_out_sender: drop the index of a sender's cross-shard tips.
SET ROLE livepanty_owner;
DROP INDEX lp.transfers_out_sender_idx;
RESET ROLE;
