CREATE FUNCTION lp.lock_admin_set() RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- A row lock on an owner-only table: only the owner's functions can take it (an advisory lock on a
    -- well-known key could be taken, and held in an open transaction, by any role that can connect).
    PERFORM 1 FROM lp.locks AS l WHERE l.name = 'users.admin_set' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP199', MESSAGE = 'lock users.admin_set is missing from lp.locks',
            HINT = 'A broken deployment: re-run the migrations.';
    END IF;
END
$$;
COMMENT ON FUNCTION lp.lock_admin_set() IS 'Locks the lp.locks row users.admin_set until the transaction ends. Taken, after the caller is authorised and before any user row lock, by every function that may remove an admin (api.set_user_role; api.delete_user when an admin deletes a user or themselves), so lp.assert_not_last_admin sees a stable set of admins. Owner-only: no application role can take it. LP199 when the row is missing (broken deployment).';
REVOKE ALL ON FUNCTION lp.lock_admin_set() FROM PUBLIC;
