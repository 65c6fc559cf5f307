-- Undo 0063_user_role_comment (the comment on lp.users.role before it).
COMMENT ON COLUMN lp.users.role IS 'Platform role: viewer, performer, moderator or admin.';
