-- Access to lp.erasures: no role but the owner (api.request_erasure, api.erase_user, api.replay_erasure,
-- api.list_erasures and the KYC retention purge read and write it).
ALTER TABLE lp.erasures ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.erasures FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.erasures FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage erasures" ON lp.erasures FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
