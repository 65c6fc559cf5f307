CREATE FUNCTION lp.is_staff(p_role lp.user_role) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p_role IN ('moderator', 'admin', 'compliance_officer')
$$;
COMMENT ON FUNCTION lp.is_staff(lp.user_role) IS 'Whether a platform role is staff (moderator, admin, compliance_officer): the one list behind "only admins sanction staff, lift or decide the appeal of a staff member''s sanction, read, claim or resolve a case about staff" (api.sanction_user, api.revoke_sanction, api.resolve_case, api.decide_appeal, api.list_appeals, api.claim_case, lp.lock_claimed_case, lp.review_queue_page, and the RLS policies on lp.user_sanctions and lp.sanction_appeals, for which the application roles may execute it). NULL for NULL.';
REVOKE ALL ON FUNCTION lp.is_staff(lp.user_role) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lp.is_staff(lp.user_role) TO livepanty_app, livepanty_service;
