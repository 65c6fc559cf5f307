-- Access to lp.performer_blocks: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.performer_blocks ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.performer_blocks FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.performer_blocks FROM livepanty_readonly;
SELECT lp.grant_select('lp.performer_blocks', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage performer_blocks" ON lp.performer_blocks FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
-- A blocked user is not told who blocked them (they learn it only by being refused, LP124).
CREATE POLICY "performers read their block list" ON lp.performer_blocks FOR SELECT TO livepanty_app, livepanty_service
    USING (performer_id = (SELECT api.current_user_id()));
CREATE POLICY "staff read every block list" ON lp.performer_blocks FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
