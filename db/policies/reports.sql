-- Access to lp.reports: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.reports FORCE ROW LEVEL SECURITY;
SELECT lp.grant_select('lp.reports', ARRAY['livepanty_app', 'livepanty_service', 'livepanty_readonly']);
CREATE POLICY "api functions manage reports" ON lp.reports FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "reporting reads reports" ON lp.reports FOR SELECT TO livepanty_readonly USING (true);
CREATE POLICY "reporters read their own reports" ON lp.reports FOR SELECT TO livepanty_app, livepanty_service
    USING (reporter_id = (SELECT api.current_user_id()));
CREATE POLICY "staff read every report" ON lp.reports FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
