-- Undo 0041_cross_shard_captures. Refused while a cross-shard capture exists: its row is the only record of
-- tokens sent to, or received from, another shard for a hold.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.transfers_out WHERE hold_id IS NOT NULL)
       OR EXISTS (SELECT 1 FROM lp.transfers_in WHERE hold_id IS NOT NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP204',
            MESSAGE = 'cross-shard captures exist: this database cannot go back before 0041';
    END IF;
END
$$;
SET ROLE livepanty_owner;
ALTER TABLE lp.transfers_in DROP COLUMN hold_id;
DROP INDEX lp.transfers_out_hold_idx;
DROP INDEX lp.transfers_out_tip_key_idx;
ALTER TABLE lp.transfers_out ADD CONSTRAINT transfers_out_sender_id_idempotency_key_key UNIQUE (sender_id, idempotency_key);
ALTER TABLE lp.transfers_out DROP COLUMN hold_id;
RESET ROLE;
