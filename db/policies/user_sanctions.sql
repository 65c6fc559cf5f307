-- Access to lp.user_sanctions: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.user_sanctions ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.user_sanctions FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.user_sanctions FROM livepanty_readonly;
-- Staff ids are not granted: users read the *_label columns; staff get ids from the api functions.
SELECT lp.grant_select('lp.user_sanctions', ARRAY['livepanty_app', 'livepanty_service'], ARRAY['issued_by', 'revoked_by']);
CREATE POLICY "api functions manage user_sanctions" ON lp.user_sanctions FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own sanctions" ON lp.user_sanctions FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
-- Staff read the sanctions of users; those of staff (a moderator, an admin, a compliance officer: lp.is_staff) are
-- the admins' alone, as the cases about staff are (lp.reports): a moderator reads no sanction of a colleague.
CREATE POLICY "staff read the sanctions they may work" ON lp.user_sanctions FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin'
           OR ((SELECT lp.current_user_role()) = 'moderator'
               AND NOT EXISTS (SELECT 1 FROM lp.users AS u
                                WHERE u.id = user_sanctions.user_id AND lp.is_staff(u.role))));
