-- Access to lp.metric_samples: no role but the owner; written by an api function of the back office, read through the
-- definer views of schema monitoring.
ALTER TABLE lp.metric_samples ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.metric_samples FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.metric_samples FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly, livepanty_mailer;
CREATE POLICY "owner functions manage metric_samples" ON lp.metric_samples FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
