-- Access to lp.stream_viewers: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.stream_viewers ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.stream_viewers FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.stream_viewers FROM livepanty_readonly;
-- A viewer's IP address is granted to nobody: not to the host, not to staff (fraud work uses the login IPs
-- admins read in lp.auth_sessions and lp.audit_logs).
SELECT lp.grant_select('lp.stream_viewers', ARRAY['livepanty_app', 'livepanty_service'], ARRAY['ip_address']);
CREATE POLICY "api functions manage stream_viewers" ON lp.stream_viewers FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "viewers read their own viewing sessions" ON lp.stream_viewers FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
CREATE POLICY "hosts read who watched their streams" ON lp.stream_viewers FOR SELECT TO livepanty_app, livepanty_service
    USING (stream_id IN (SELECT s.id FROM lp.streams AS s WHERE s.host_id = (SELECT api.current_user_id())));
CREATE POLICY "staff read every viewing session" ON lp.stream_viewers FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
