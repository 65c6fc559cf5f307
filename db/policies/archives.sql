-- Access to lp.archives: owner code only (api functions); no role reads it directly.
ALTER TABLE lp.archives ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.archives FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.archives FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "api functions manage archives" ON lp.archives FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
