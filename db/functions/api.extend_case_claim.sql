CREATE FUNCTION api.extend_case_claim(p_case_id uuid) RETURNS lp.reports
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_me   uuid := lp.require_user('moderator', 'admin');
    v_case lp.reports := lp.lock_claimed_case(p_case_id, v_me);
BEGIN
    UPDATE lp.reports AS r
       SET claim_expires_at = now() + make_interval(mins => (lp.setting('review.claim_minutes'))::integer)
     WHERE r.id = v_case.id
    RETURNING r.* INTO v_case;
    PERFORM lp.audit('case.extend_claim', 'report', v_case.id::text,
                     jsonb_build_object('claim_expires_at', v_case.claim_expires_at));
    RETURN v_case;
END
$$;
COMMENT ON FUNCTION api.extend_case_claim(uuid) IS 'Moderators and admins: renews the caller''s running claim on a case for review.claim_minutes from now. LP002 other roles, or a case against the caller, one they filed a report on or one whose sanction''s appeal they decided (lp.lock_claimed_case), LP003 unknown case, LP004 closed case, LP142 another moderator''s claim, LP143 no running claim of the caller (an expired one cannot be extended: claim again). Audited (case.extend_claim).';
REVOKE ALL ON FUNCTION api.extend_case_claim(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.extend_case_claim(uuid) TO livepanty_app, livepanty_service;
