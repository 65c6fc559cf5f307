-- Access to lp.kyc_verifications: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.kyc_verifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.kyc_verifications FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.kyc_verifications FROM livepanty_readonly;
-- Staff ids are not granted: users read the *_label columns; staff get ids from the api functions. Nor is the
-- encrypted legal name or the verified date of birth: identity data only compliance officers read (api.kyc_record,
-- audited); the person reads their own date of birth through api.get_kyc_status.
SELECT lp.grant_select('lp.kyc_verifications', ARRAY['livepanty_app', 'livepanty_service'],
                       ARRAY['reviewed_by', 'legal_name_encrypted', 'verified_date_of_birth']);
CREATE POLICY "api functions manage kyc_verifications" ON lp.kyc_verifications FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own verifications" ON lp.kyc_verifications FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
-- Identity documents are for admins (the KYC reviewers) and compliance officers, not for moderators.
CREATE POLICY "admins read every verification" ON lp.kyc_verifications FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('admin', 'compliance_officer'));
