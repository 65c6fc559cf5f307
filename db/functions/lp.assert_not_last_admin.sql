CREATE FUNCTION lp.assert_not_last_admin(p_user_id uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- Callers take lp.lock_admin_set() (a row lock only the owner can take) before locking any user row, so two
    -- concurrent demotions or deletions of admins run one after the other and cannot both pass this check (nor
    -- deadlock).
    IF EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = p_user_id AND u.role = 'admin' AND u.deleted_at IS NULL)
       AND NOT EXISTS (SELECT 1 FROM lp.users AS u
                        WHERE u.role = 'admin' AND u.deleted_at IS NULL AND u.id <> p_user_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP030', MESSAGE = 'cannot remove the last admin',
            HINT = 'Create or promote another admin first.';
    END IF;
END
$$;
COMMENT ON FUNCTION lp.assert_not_last_admin(uuid) IS 'LP030 when p_user_id is the only active admin (used before demoting or deleting a user).';
REVOKE ALL ON FUNCTION lp.assert_not_last_admin(uuid) FROM PUBLIC;
