-- Access to lp.audit_logs: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.audit_logs FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.audit_logs FROM livepanty_readonly;
SELECT lp.grant_select('lp.audit_logs', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage audit_logs" ON lp.audit_logs FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
-- Admins read the audit trail, but a reported admin not the rows of the cases against them (target the case:
-- report.file, whose actor is the reporter, and case.open, case.claim, case.extend_claim, case.release,
-- case.escalate, case.resolve, whose actor handled the case), as RLS on lp.reports and lp.report_filings keeps
-- the case and its filings from the user it is against (lp.filed_against_reader); nor the flag.raise rows of the
-- flags about them (details.case_id: a case against them exists; lp.flagged_reader), nor the sanction.* rows of
-- their own sanctions (target the user: issue, revoke, request, expire_review; the actor issued or lifted it, the
-- details name its case), nor the appeal.* rows of their own sanctions (target the sanction: appeal.file, whose
-- actor is themselves or support acting for them, appeal.decide, whose actor decided the appeal, appeal.moot,
-- whose actor lifted the sanction; lp.sanctioned_reader). They read the decision (api.my_case_decisions), their
-- sanctions and their appeals' decisions with the reasons (api.my_sanctions, the issuer and the decider by label),
-- never who reported them, who handled the case nor who decided their appeal. The stream.end row of their stream
-- a flag ended stays readable: it names the category and the flag (no case, no staff actor: the gate acted), what
-- the automated decision of the flag's case already tells them through api.my_case_decisions.
CREATE POLICY "admins read the audit trail" ON lp.audit_logs FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin'
           AND CASE WHEN target_type = 'report' THEN NOT lp.filed_against_reader(target_id, details)
                    WHEN action = 'flag.raise' THEN NOT lp.flagged_reader(target_id, details)
                    WHEN action LIKE 'sanction.%' AND target_type = 'user'
                        THEN target_id IS DISTINCT FROM (SELECT api.current_user_id())::text
                    WHEN target_type = 'sanction' THEN NOT lp.sanctioned_reader(target_id, details)
                    ELSE true END);
