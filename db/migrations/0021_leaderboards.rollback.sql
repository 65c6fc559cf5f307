-- Undo 0021_leaderboards (the repeatable functions that use the type are dropped before this runs).
SET ROLE livepanty_owner;
DROP TYPE lp.leaderboard_period;
RESET ROLE;
