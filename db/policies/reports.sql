-- Access to lp.reports: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.reports FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.reports FROM livepanty_readonly;
-- Staff ids are not granted: users read the *_label columns; staff get ids from the api functions.
SELECT lp.grant_select('lp.reports', ARRAY['livepanty_app', 'livepanty_service'], ARRAY['assigned_to', 'resolved_by', 'released_by']);
CREATE POLICY "api functions manage reports" ON lp.reports FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
-- Only staff read cases. A case holds what nobody but staff and the affected user may read (the statement of
-- reasons, the sanction, a fraud case's payment and provider reference, other sources' events): the affected
-- user reads their decisions through api.my_case_decisions, a reporter reads their own filings
-- (lp.report_filings), never the case they filed into. A staff member against whom a case is open is its
-- reported user like any other: they read no case against themselves (nor, through it, who reported them:
-- lp.report_filings reads the filings of the cases its reader may read). Cases about staff (a moderator, an
-- admin, a compliance officer) are the admins' alone, as their claims are (api.claim_case): a moderator reads
-- no case about a colleague (nor who reported them).
CREATE POLICY "staff read the cases they may work" ON lp.reports FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin')
           AND reported_user_id IS DISTINCT FROM (SELECT api.current_user_id())
           AND ((SELECT lp.current_user_role()) = 'admin'
                OR NOT EXISTS (SELECT 1 FROM lp.users AS u
                                WHERE u.id = reports.reported_user_id
                                  AND u.role::text IN ('moderator', 'admin', 'compliance_officer'))));
