-- Access to lp.secrets: no role but the owner (whose SECURITY DEFINER functions use the keys) reads it.
ALTER TABLE lp.secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.secrets FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.secrets FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "owner functions read the keys" ON lp.secrets FOR SELECT TO livepanty_owner USING (true);
