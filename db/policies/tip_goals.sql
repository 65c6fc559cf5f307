-- Access to lp.tip_goals: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.tip_goals ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.tip_goals FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.tip_goals FROM livepanty_readonly;
SELECT lp.grant_select('lp.tip_goals', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage tip_goals" ON lp.tip_goals FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
-- Goals are seen like their stream (progress: api.stream_goals).
CREATE POLICY "signed-in users read goals of public streams" ON lp.tip_goals FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT api.current_user_id()) IS NOT NULL
           AND stream_id IN (SELECT s.id FROM lp.streams AS s WHERE s.visibility = 'public' AND s.deleted_at IS NULL));
CREATE POLICY "hosts read their streams' goals" ON lp.tip_goals FOR SELECT TO livepanty_app, livepanty_service
    USING (stream_id IN (SELECT s.id FROM lp.streams AS s WHERE s.host_id = (SELECT api.current_user_id())));
CREATE POLICY "staff read every goal" ON lp.tip_goals FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
