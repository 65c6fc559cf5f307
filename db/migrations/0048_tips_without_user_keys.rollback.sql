-- Undo 0048_tips_without_user_keys: the foreign keys come back (validated: fails if a tip names a user who no
-- longer exists, which api.verify_ledger reports first). The validation scans every tip while it holds SHARE ROW
-- EXCLUSIVE on lp.tips and lp.users (no tip, no registration meanwhile): run it at a quiet time.
SET ROLE livepanty_owner;
ALTER TABLE lp.tips
    ADD CONSTRAINT tips_sender_id_fkey FOREIGN KEY (sender_id) REFERENCES lp.users (id) ON DELETE RESTRICT,
    ADD CONSTRAINT tips_recipient_id_fkey FOREIGN KEY (recipient_id) REFERENCES lp.users (id) ON DELETE RESTRICT;
COMMENT ON COLUMN lp.tips.sender_id IS NULL;
COMMENT ON COLUMN lp.tips.recipient_id IS NULL;
RESET ROLE;
