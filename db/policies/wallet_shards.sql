-- Access to lp.wallet_shards: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.wallet_shards ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.wallet_shards FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.wallet_shards FROM livepanty_readonly;
SELECT lp.grant_select('lp.wallet_shards', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage wallet_shards" ON lp.wallet_shards FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "users read their own wallet's shards" ON lp.wallet_shards FOR SELECT TO livepanty_app, livepanty_service
    USING (wallet_id IN (SELECT w.id FROM lp.wallets AS w WHERE w.user_id = (SELECT api.current_user_id())));
CREATE POLICY "admins read every shard" ON lp.wallet_shards FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) = 'admin');
