CREATE FUNCTION api.extend_case_claim(p_case_id uuid) RETURNS lp.reports
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_me    uuid := lp.require_user('moderator', 'admin');
    v_case  lp.reports := lp.lock_claimed_case(p_case_id, v_me);
    v_limit timestamptz;
BEGIN
    -- A claim lasts at most review.max_claim_minutes from when it was taken: renewals stop there, so nobody
    -- keeps a case from the other moderators by extending for ever. At the limit the extension is refused and
    -- the claim runs out as any other (then anyone may claim the case, api.claim_case).
    v_limit := v_case.claimed_at + make_interval(mins => (lp.setting('review.max_claim_minutes'))::integer);
    IF v_case.claim_expires_at >= v_limit THEN
        RAISE EXCEPTION USING ERRCODE = 'LP144', MESSAGE = 'this claim cannot be extended any more',
            DETAIL = format('claimed at %s; a claim lasts at most review.max_claim_minutes (%s): it runs out at %s',
                            v_case.claimed_at, lp.setting('review.max_claim_minutes'), v_case.claim_expires_at),
            HINT = 'Resolve or release the case before then; afterwards another moderator may claim it.';
    END IF;
    UPDATE lp.reports AS r
       SET claim_expires_at = least(now() + make_interval(mins => (lp.setting('review.claim_minutes'))::integer),
                                    v_limit)
     WHERE r.id = v_case.id
    RETURNING r.* INTO v_case;
    PERFORM lp.audit('case.extend_claim', 'report', v_case.id::text,
                     jsonb_build_object('claim_expires_at', v_case.claim_expires_at));
    RETURN v_case;
END
$$;
COMMENT ON FUNCTION api.extend_case_claim(uuid) IS 'Moderators and admins: renews the caller''s running claim on a case for review.claim_minutes from now, but never past review.max_claim_minutes after the claim was taken (claimed_at). LP002 other roles, or a case against the caller, one they filed a report on or one whose sanction''s appeal they decided (lp.lock_claimed_case), LP003 unknown case, LP004 closed case, LP142 another moderator''s claim, LP143 no running claim of the caller (an expired one cannot be extended: claim again), LP144 the claim already runs to review.max_claim_minutes (it runs out; then another moderator may claim the case). Audited (case.extend_claim).';
REVOKE ALL ON FUNCTION api.extend_case_claim(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.extend_case_claim(uuid) TO livepanty_app, livepanty_service;
