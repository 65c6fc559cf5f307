-- Access to lp.streams: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.streams ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.streams FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.streams FROM livepanty_readonly;
SELECT lp.grant_select('lp.streams', ARRAY['livepanty_app', 'livepanty_service'], ARRAY['stream_key_hash', 'tips_tokens']);
CREATE POLICY "api functions manage streams" ON lp.streams FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "signed-in users read public streams" ON lp.streams FOR SELECT TO livepanty_app, livepanty_service
    USING (visibility = 'public' AND deleted_at IS NULL AND (SELECT api.current_user_id()) IS NOT NULL);
CREATE POLICY "hosts read their own streams" ON lp.streams FOR SELECT TO livepanty_app, livepanty_service
    USING (host_id = (SELECT api.current_user_id()) AND deleted_at IS NULL);
CREATE POLICY "staff read every stream" ON lp.streams FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
-- Together the policies are lp.stream_visible's rule: public, or the host, or a co-performer (not deleted); staff
-- any stream. A co-performer of a public stream reads it by the first policy, so only the others are asked about
-- (lp.is_co_performer reads lp.stream_performers as the owner: its own policies read lp.streams).
CREATE POLICY "co-performers read the streams they are on camera in" ON lp.streams FOR SELECT TO livepanty_app, livepanty_service
    USING (visibility <> 'public' AND deleted_at IS NULL AND lp.is_co_performer(id));
