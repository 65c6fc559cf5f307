-- Undo 0067_tip_key_first: the tips' unique key leads with the sender again.
SET ROLE livepanty_owner;

ALTER TABLE lp.tips DROP CONSTRAINT tips_idempotency_key_sender_id_key;
ALTER TABLE lp.tips ADD CONSTRAINT tips_sender_id_idempotency_key_key UNIQUE (sender_id, idempotency_key);

RESET ROLE;
