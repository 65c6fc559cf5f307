-- Undo 0025_show_hold_unique.
SET ROLE livepanty_owner;
ALTER TABLE lp.show_participants DROP CONSTRAINT show_participants_hold_id_key;
RESET ROLE;
