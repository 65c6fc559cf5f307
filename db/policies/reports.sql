-- Access to lp.reports: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.reports FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.reports FROM livepanty_readonly;
-- Staff ids are not granted: users read the *_label columns; staff get ids from the api functions.
SELECT lp.grant_select('lp.reports', ARRAY['livepanty_app', 'livepanty_service'], ARRAY['assigned_to', 'resolved_by']);
CREATE POLICY "api functions manage reports" ON lp.reports FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "reporters read their own reports" ON lp.reports FOR SELECT TO livepanty_app, livepanty_service
    USING (reporter_id = (SELECT api.current_user_id()));
CREATE POLICY "staff read every report" ON lp.reports FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
