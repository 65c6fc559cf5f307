-- Access to lp.tip_goal_progress: grants and row level security policies (re-applied on every deploy).
-- The progress rows are read through api.stream_goals (sums over the shards); no application role reads them.
ALTER TABLE lp.tip_goal_progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.tip_goal_progress FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.tip_goal_progress FROM livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage tip_goal_progress" ON lp.tip_goal_progress FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
