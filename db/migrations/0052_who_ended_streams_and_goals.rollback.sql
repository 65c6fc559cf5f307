-- Undo 0052_who_ended_streams_and_goals: the columns go, and with them who ended each stream and closed each
-- goal (the functions of the release before, applied with it, read that from the event and audit rows, while
-- they last).
SET ROLE livepanty_owner;
ALTER TABLE lp.tip_goals DROP CONSTRAINT tip_goals_closed_by_once_closed;
ALTER TABLE lp.tip_goals DROP COLUMN closed_by;
ALTER TABLE lp.streams DROP CONSTRAINT streams_ended_by_once_ended;
ALTER TABLE lp.streams DROP COLUMN ended_by;
RESET ROLE;
