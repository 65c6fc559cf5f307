-- 0041: captures of a hold whose payee lives on another shard (issue 12, docs/scale-out.md, "Cross-shard
-- captures"): the capture leaves the holder's shard through the outbox of cross-shard tips, marked with its hold.
SET ROLE livepanty_owner;

ALTER TABLE lp.transfers_out ADD COLUMN hold_id uuid REFERENCES lp.holds (id) ON DELETE RESTRICT;
-- One key names one tip of a sender; a capture's row carries its capture's key (per hold), outside that rule.
ALTER TABLE lp.transfers_out DROP CONSTRAINT transfers_out_sender_id_idempotency_key_key;
CREATE UNIQUE INDEX transfers_out_tip_key_idx ON lp.transfers_out (sender_id, idempotency_key) WHERE hold_id IS NULL;
CREATE INDEX transfers_out_hold_idx ON lp.transfers_out (hold_id) WHERE hold_id IS NOT NULL;
COMMENT ON COLUMN lp.transfers_out.hold_id IS 'The hold of this shard when the row is a capture of it for a payee of to_shard (lp.capture_hold; the capture''s own key in idempotency_key); NULL for a tip.';

ALTER TABLE lp.transfers_in ADD COLUMN hold_id uuid;
COMMENT ON COLUMN lp.transfers_in.hold_id IS 'The hold on from_shard when the transfer is a capture of it (the credit is entry kind hold_capture, and no tip is recorded); NULL for a tip.';
RESET ROLE;
