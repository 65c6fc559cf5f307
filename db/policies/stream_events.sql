-- Access to lp.stream_events: no application role reads the rows; api.stream_events does, with the stream's
-- visibility and the tippers' anonymity applied (re-applied on every deploy).
ALTER TABLE lp.stream_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.stream_events FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.stream_events FROM livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage stream_events" ON lp.stream_events FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
