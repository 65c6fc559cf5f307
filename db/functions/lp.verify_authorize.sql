CREATE FUNCTION lp.verify_authorize() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    -- The database role that called the api function: SECURITY DEFINER changes current_user to the owner but
    -- leaves the role setting alone, so it is the role of SET [LOCAL] ROLE or, without one, the login role.
    -- Nobody can take a role they are not a member of, so this cannot be forged.
    v_caller text := CASE WHEN pg_catalog.current_setting('role') = 'none' THEN session_user::text
                          ELSE pg_catalog.current_setting('role') END;
BEGIN
    IF pg_catalog.pg_has_role(v_caller, 'livepanty_service', 'USAGE') THEN
        RETURN;  -- back-office (the verify job, the operator CLI): no platform user needs to act
    END IF;
    PERFORM lp.require_user('admin');
END
$$;
COMMENT ON FUNCTION lp.verify_authorize() IS 'Gate of the ledger verification functions (api.verify_ledger, api.ledger_totals, api.ledger_stats): the livepanty_service role (or a member, or a superuser) may always call them; otherwise an admin must act (LP001 nobody acting, LP002 another platform role).';
REVOKE ALL ON FUNCTION lp.verify_authorize() FROM PUBLIC;
