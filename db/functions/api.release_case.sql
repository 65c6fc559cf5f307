CREATE FUNCTION api.release_case(p_case_id uuid) RETURNS lp.reports
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_me   uuid := lp.require_user('moderator', 'admin');
    v_case lp.reports := lp.lock_claimed_case(p_case_id, v_me);
BEGIN
    -- The release is remembered (released_by, released_at): api.claim_case does not hand the case back to the
    -- caller for review.claim_minutes, so nobody renews a claim past review.max_claim_minutes by giving the case
    -- back and claiming it again (the others get it meanwhile).
    UPDATE lp.reports AS r
       SET status = CASE WHEN r.escalated_at IS NULL THEN 'open' ELSE 'escalated' END::lp.case_status,
           assigned_to = NULL, claimed_at = NULL, claim_expires_at = NULL,
           released_by = v_me, released_at = now()
     WHERE r.id = v_case.id
    RETURNING r.* INTO v_case;
    PERFORM lp.audit('case.release', 'report', v_case.id::text, jsonb_build_object('status', v_case.status));
    RETURN v_case;
END
$$;
COMMENT ON FUNCTION api.release_case(uuid) IS 'Moderators and admins: gives back the caller''s running claim on a case, which returns to the queue (open, or escalated if it was); the caller is not handed it again by api.claim_case for review.claim_minutes (released_by, released_at). LP002 other roles, or a case against the caller, one they filed a report on or one whose sanction''s appeal they decided (lp.lock_claimed_case), LP003 unknown case, LP004 closed case, LP142 another moderator''s claim, LP143 no running claim of the caller. Audited (case.release).';
REVOKE ALL ON FUNCTION api.release_case(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.release_case(uuid) TO livepanty_app, livepanty_service;
