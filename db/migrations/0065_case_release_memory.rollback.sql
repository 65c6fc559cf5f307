-- Undo 0065_case_release_memory: the columns go (the functions of the release before, applied with it, do not
-- read them: a moderator may again claim at once a case they gave back or whose claim of theirs ran out).
SET ROLE livepanty_owner;
ALTER TABLE lp.reports DROP COLUMN released_at, DROP COLUMN released_by;
RESET ROLE;
