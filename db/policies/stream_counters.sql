-- Access to lp.stream_counters: grants and row level security policies (re-applied on every deploy).
-- The counters are read through api.get_stream (sums over the shards); no application role reads the rows.
ALTER TABLE lp.stream_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.stream_counters FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.stream_counters FROM livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage stream_counters" ON lp.stream_counters FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
