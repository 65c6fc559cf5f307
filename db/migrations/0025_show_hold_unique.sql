-- 0025_show_hold_unique: one show participation per hold (a hold reused by two participations, or one placed
-- before the show call with its key, let a viewer watch without a reservation). Frozen once landed.
SET ROLE livepanty_owner;
ALTER TABLE lp.show_participants ADD CONSTRAINT show_participants_hold_id_key UNIQUE (hold_id);
RESET ROLE;
