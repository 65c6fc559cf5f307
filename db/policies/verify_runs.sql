-- Access to lp.verify_runs: no role but the owner; written by an api function of the back office, read through the
-- definer views of schema monitoring.
ALTER TABLE lp.verify_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.verify_runs FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.verify_runs FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly, livepanty_mailer;
CREATE POLICY "owner functions manage verify_runs" ON lp.verify_runs FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
