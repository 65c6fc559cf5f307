-- Access to lp.stream_consents: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.stream_consents ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.stream_consents FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.stream_consents FROM livepanty_readonly;
-- The IP address and user agent a consent was given from are granted to no application role (the record is for
-- compliance; the performer gets their own back from api.consent_to_stream).
SELECT lp.grant_select('lp.stream_consents', ARRAY['livepanty_app', 'livepanty_service'], ARRAY['ip_address', 'user_agent']);
CREATE POLICY "api functions manage stream_consents" ON lp.stream_consents FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "performers read their consents" ON lp.stream_consents FOR SELECT TO livepanty_app, livepanty_service
    USING (performer_id = (SELECT api.current_user_id()));
CREATE POLICY "hosts read their streams' consents" ON lp.stream_consents FOR SELECT TO livepanty_app, livepanty_service
    USING (stream_id IN (SELECT s.id FROM lp.streams AS s WHERE s.host_id = (SELECT api.current_user_id())));
CREATE POLICY "staff read every consent" ON lp.stream_consents FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
