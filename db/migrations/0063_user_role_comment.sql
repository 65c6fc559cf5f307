-- 0063: the comment on lp.users.role names every platform role (compliance_officer, added by 0026, was missing)
-- and which of them are staff (lp.is_staff): the catalog says what the code does.
COMMENT ON COLUMN lp.users.role IS 'Platform role: viewer, performer, moderator, admin or compliance_officer; the last three are staff (lp.is_staff: only admins sanction them, read or work the cases about them, read their sanctions and appeals).';
