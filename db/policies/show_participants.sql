-- Access to lp.show_participants: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.show_participants ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.show_participants FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.show_participants FROM livepanty_readonly;
SELECT lp.grant_select('lp.show_participants', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage show_participants" ON lp.show_participants FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "viewers read their own part in shows" ON lp.show_participants FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
CREATE POLICY "hosts read who is in their shows" ON lp.show_participants FOR SELECT TO livepanty_app, livepanty_service
    USING (show_id IN (SELECT s.id FROM lp.shows AS s WHERE s.host_id = (SELECT api.current_user_id())));
CREATE POLICY "staff read every participant" ON lp.show_participants FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
