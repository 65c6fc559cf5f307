-- Access to lp.ledger: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.ledger FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.ledger FROM livepanty_readonly;
SELECT lp.grant_select('lp.ledger', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage ledger" ON lp.ledger FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own wallet's entries" ON lp.ledger FOR SELECT TO livepanty_app, livepanty_service
    USING (wallet_id IN (SELECT w.id FROM lp.wallets AS w WHERE w.user_id = (SELECT api.current_user_id())));
CREATE POLICY "admins read every entry" ON lp.ledger FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
