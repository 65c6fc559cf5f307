-- Access to lp.kyc_aliases: no role but the owner (api.submit_kyc writes, api.kyc_record reads for compliance
-- officers). Stage names are part of the KYC record.
ALTER TABLE lp.kyc_aliases ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.kyc_aliases FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.kyc_aliases FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage kyc_aliases" ON lp.kyc_aliases FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
