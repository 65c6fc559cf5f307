-- Access to lp.kyc_verifications: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.kyc_verifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.kyc_verifications FORCE ROW LEVEL SECURITY;
SELECT lp.grant_select('lp.kyc_verifications', ARRAY['livepanty_app', 'livepanty_service', 'livepanty_readonly']);
CREATE POLICY "api functions manage kyc_verifications" ON lp.kyc_verifications FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "reporting reads kyc_verifications" ON lp.kyc_verifications FOR SELECT TO livepanty_readonly USING (true);
CREATE POLICY "users read their own verifications" ON lp.kyc_verifications FOR SELECT TO livepanty_app, livepanty_service
    USING (user_id = (SELECT api.current_user_id()));
-- Identity documents are for admins (the KYC reviewers), not for moderators.
CREATE POLICY "admins read every verification" ON lp.kyc_verifications FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
