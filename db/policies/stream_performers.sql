-- Access to lp.stream_performers: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.stream_performers ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.stream_performers FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.stream_performers FROM livepanty_readonly;
SELECT lp.grant_select('lp.stream_performers', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage stream_performers" ON lp.stream_performers FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "performers read where they are on camera" ON lp.stream_performers FOR SELECT TO livepanty_app, livepanty_service
    USING (performer_id = (SELECT api.current_user_id()));
CREATE POLICY "hosts read their streams' co-performers" ON lp.stream_performers FOR SELECT TO livepanty_app, livepanty_service
    USING (stream_id IN (SELECT s.id FROM lp.streams AS s WHERE s.host_id = (SELECT api.current_user_id())));
CREATE POLICY "staff read every co-performer" ON lp.stream_performers FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
