-- Access to lp.moderation_flags: grants and row level security policies (re-applied on every deploy).
ALTER TABLE lp.moderation_flags ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.moderation_flags FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.moderation_flags FROM livepanty_readonly;
SELECT lp.grant_select('lp.moderation_flags', ARRAY['livepanty_app', 'livepanty_service']);
CREATE POLICY "api functions manage moderation_flags" ON lp.moderation_flags FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
-- Staff read the flags staff may read the cases of (RLS on lp.reports): never one about themselves (queued or
-- ignored below its review threshold: a flag names its user, the case's reported user), and a flag about staff
-- (a moderator, an admin, a compliance officer) only when an admin; a queued flag also only when its case is
-- one they may read.
CREATE POLICY "staff read the flags they may review" ON lp.moderation_flags FOR SELECT TO livepanty_app, livepanty_service
    USING ((SELECT lp.current_user_role()) IN ('moderator', 'admin')
           AND user_id IS DISTINCT FROM (SELECT api.current_user_id())
           AND ((SELECT lp.current_user_role()) = 'admin'
                OR NOT EXISTS (SELECT 1 FROM lp.users AS u
                                WHERE u.id = moderation_flags.user_id AND u.role::text IN ('moderator', 'admin', 'compliance_officer')))
           AND (case_id IS NULL OR EXISTS (SELECT 1 FROM lp.reports AS r WHERE r.id = moderation_flags.case_id)));
