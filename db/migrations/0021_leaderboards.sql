-- 0021_leaderboards: the periods of a performer's leaderboard (api.performer_top_tippers), a closed list in
-- one place like those of 0017. Frozen once landed.
SET ROLE livepanty_owner;
CREATE TYPE lp.leaderboard_period AS ENUM ('day', 'week', 'month', 'all');
COMMENT ON TYPE lp.leaderboard_period IS 'The period of a performer''s leaderboard: the last day, 7 days, 30 days, or all time.';
RESET ROLE;
