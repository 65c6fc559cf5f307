-- Access to lp.report_filings: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.report_filings ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.report_filings FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.report_filings FROM livepanty_readonly;
SELECT lp.grant_select('lp.report_filings', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage report_filings" ON lp.report_filings FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "reporters read their own filings" ON lp.report_filings FOR SELECT TO livepanty_app, livepanty_service
    USING (reporter_id = (SELECT api.current_user_id()));
-- Staff read the filings of the cases they may read (RLS on lp.reports): never those of a case against
-- themselves, so a reported moderator or admin does not learn who reported them, and those of a case about
-- staff only when an admin.
CREATE POLICY "staff read every filing" ON lp.report_filings FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin')
           AND EXISTS (SELECT 1 FROM lp.reports AS r WHERE r.id = case_id));
