CREATE FUNCTION lp.is_staff(p_role lp.user_role) RETURNS boolean
    LANGUAGE sql IMMUTABLE
AS $$
    SELECT p_role IN ('moderator', 'admin', 'compliance_officer')
$$;
COMMENT ON FUNCTION lp.is_staff(lp.user_role) IS 'Owner only: whether a platform role is staff (moderator, admin, compliance_officer): the one list behind "only admins sanction staff, lift or decide the appeal of a staff member''s sanction, read, claim or resolve a case about staff" (api.sanction_user, api.revoke_sanction, api.resolve_case, api.decide_appeal, api.list_appeals, api.claim_case, lp.lock_claimed_case, lp.review_queue_page). NULL for NULL.';
REVOKE ALL ON FUNCTION lp.is_staff(lp.user_role) FROM PUBLIC;
