-- 0039: a sender's cross-shard tips in their tip history (api.list_tips as sender reads lp.transfers_out too,
-- newest first).
SET ROLE livepanty_owner;
CREATE INDEX transfers_out_sender_idx ON lp.transfers_out (sender_id, created_at DESC);
RESET ROLE;
