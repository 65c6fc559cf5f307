-- Access to lp.kyc_webhook_events: no role but the owner (api.apply_kyc_webhook writes and returns its rows).
ALTER TABLE lp.kyc_webhook_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.kyc_webhook_events FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.kyc_webhook_events FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage kyc_webhook_events" ON lp.kyc_webhook_events FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
