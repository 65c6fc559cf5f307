-- Access to lp.outbox: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.outbox FORCE ROW LEVEL SECURITY;
-- Messages carry secrets (reset tokens): no role reads the table, not even reporting or the mailer. The mailer
-- gets its messages from api.claim_messages and reports back through api.mark_message_sent / _failed.
REVOKE ALL ON lp.outbox FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly, livepanty_mailer;
CREATE POLICY "api functions manage the outbox" ON lp.outbox FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
