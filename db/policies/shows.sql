-- Access to lp.shows: grants and row level security policies (re-applied on every deploy).
-- Who asked for a private show is the host's, staff's and the asker's to know: viewers read shows through
-- api.stream_shows (without it); the table itself is readable by the host and staff. (No policy here reads
-- lp.show_participants, whose own policy reads lp.shows: that would be a cycle.)
ALTER TABLE lp.shows ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.shows FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.shows FROM livepanty_readonly;
SELECT lp.grant_select('lp.shows', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage shows" ON lp.shows FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "hosts read their shows" ON lp.shows FOR SELECT TO livepanty_app, livepanty_service
    USING (host_id = (SELECT api.current_user_id()));
CREATE POLICY "staff read every show" ON lp.shows FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
