-- Access to lp.locks: no role but the owner, whose functions lock its rows (FOR UPDATE) and never change them.
ALTER TABLE lp.locks ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.locks FORCE ROW LEVEL SECURITY;
REVOKE ALL ON lp.locks FROM PUBLIC, livepanty_app, livepanty_service, livepanty_readonly;
CREATE POLICY "owner functions see the locks" ON lp.locks FOR SELECT TO livepanty_owner USING (true);
-- SELECT ... FOR UPDATE needs an UPDATE policy whose USING admits the row; WITH CHECK (false) keeps every
-- actual UPDATE out, so the rows stay exactly as installed.
CREATE POLICY "owner functions lock, never change, the locks" ON lp.locks FOR UPDATE TO livepanty_owner
    USING (true) WITH CHECK (false);
