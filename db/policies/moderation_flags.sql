-- Access to lp.moderation_flags: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.moderation_flags ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.moderation_flags FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.moderation_flags FROM livepanty_readonly;
SELECT lp.grant_select('lp.moderation_flags', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage moderation_flags" ON lp.moderation_flags FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "staff read moderation flags" ON lp.moderation_flags FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin'));
