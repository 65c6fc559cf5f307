-- Access to lp.payouts: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.payouts ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.payouts FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.payouts FROM livepanty_readonly;
-- Staff ids are not granted: users read the *_label columns; staff get ids from the api functions.
SELECT lp.grant_select('lp.payouts', ARRAY['livepanty_app', 'livepanty_service'], ARRAY['reviewed_by']);
CREATE POLICY "api functions manage payouts" ON lp.payouts FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own payouts" ON lp.payouts FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
CREATE POLICY "admins read every one of payouts" ON lp.payouts FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
