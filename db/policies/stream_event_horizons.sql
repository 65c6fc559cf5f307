-- Access to lp.stream_event_horizons: owner code only (re-applied on every deploy).
ALTER TABLE lp.stream_event_horizons ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.stream_event_horizons FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.stream_event_horizons FROM livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage stream_event_horizons" ON lp.stream_event_horizons FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
