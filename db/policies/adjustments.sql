-- Access to lp.adjustments: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.adjustments ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.adjustments FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.adjustments FROM livepanty_readonly;
-- Staff ids are not granted: users read the *_label columns; staff get ids from the api functions.
SELECT lp.grant_select('lp.adjustments', ARRAY['livepanty_app', 'livepanty_service'], ARRAY['created_by']);
CREATE POLICY "api functions manage adjustments" ON lp.adjustments FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read adjustments of their wallet" ON lp.adjustments FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
CREATE POLICY "admins read every adjustment" ON lp.adjustments FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
