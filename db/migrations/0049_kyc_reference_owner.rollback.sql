-- Undo 0049_kyc_reference_owner: the named lock goes (the functions of the older tree, applied again by the
-- rollback, do not take it).
-- As the migrating superuser: row level security on lp.locks lets no role, the owner included, add or remove rows.
DELETE FROM lp.locks WHERE name = 'kyc.references';
