-- Access to lp.sanction_appeals: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.sanction_appeals ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.sanction_appeals FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.sanction_appeals FROM livepanty_readonly;
-- Staff ids are not granted: the appellant reads decided_by_label; staff get ids from the api functions.
SELECT lp.grant_select('lp.sanction_appeals', ARRAY['livepanty_app', 'livepanty_service'], ARRAY['decided_by']);
CREATE POLICY "api functions manage sanction_appeals" ON lp.sanction_appeals FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own appeals" ON lp.sanction_appeals FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
-- Staff read the appeals of users; those of staff (a moderator, an admin, a compliance officer: lp.is_staff) are
-- the admins' alone, as the cases about staff are (lp.reports): a moderator reads no appeal of a colleague.
CREATE POLICY "staff read the appeals they may work" ON lp.sanction_appeals FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin'
           OR ((SELECT lp.current_user_role()) = 'moderator'
               AND NOT EXISTS (SELECT 1 FROM lp.users AS u
                                WHERE u.id = sanction_appeals.user_id AND lp.is_staff(u.role))));
