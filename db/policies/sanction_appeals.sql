-- Access to lp.sanction_appeals: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.sanction_appeals ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.sanction_appeals FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.sanction_appeals FROM livepanty_readonly;
-- Staff ids are not granted: the appellant reads decided_by_label; staff get ids from the api functions.
SELECT lp.grant_select('lp.sanction_appeals', ARRAY['livepanty_app', 'livepanty_service'], ARRAY['decided_by']);
CREATE POLICY "api functions manage sanction_appeals" ON lp.sanction_appeals FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own appeals" ON lp.sanction_appeals FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
CREATE POLICY "staff read every appeal" ON lp.sanction_appeals FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
