CREATE FUNCTION lp.lock_claimed_case(p_case_id uuid, p_moderator uuid) RETURNS lp.reports
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_case lp.reports;
BEGIN
    -- The lease rule, in one place: only the moderator whose claim on the case is still running may work it.
    SELECT r.* INTO v_case FROM lp.reports AS r WHERE r.id = p_case_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'case not found';
    END IF;
    IF v_case.status NOT IN ('open', 'in_review', 'escalated') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004', MESSAGE = format('the case is %s', v_case.status),
            DETAIL = 'allowed: open, in_review, escalated';
    END IF;
    IF v_case.status = 'in_review' AND v_case.claim_expires_at > now()
       AND v_case.assigned_to IS DISTINCT FROM p_moderator THEN
        RAISE EXCEPTION USING ERRCODE = 'LP142', MESSAGE = 'another moderator holds the claim on this case',
            DETAIL = format('claimed until %s', v_case.claim_expires_at);
    END IF;
    IF v_case.status <> 'in_review' OR v_case.claim_expires_at <= now() THEN
        RAISE EXCEPTION USING ERRCODE = 'LP143', MESSAGE = 'you hold no running claim on this case',
            DETAIL = CASE WHEN v_case.status = 'in_review' AND v_case.assigned_to = p_moderator
                          THEN format('your claim expired at %s', v_case.claim_expires_at)
                          ELSE 'the case is not claimed' END,
            HINT = 'Claim it first (api.claim_case).';
    END IF;
    -- The rule api.claim_case keeps when it hands out a case, kept for every action on it: nobody works a case
    -- against themselves or one they filed on (a report merged into the case after the claim included), nor
    -- one whose sanction's appeal they decided (granted or denied: the automated sanction of a case pending
    -- review may be appealed before the case is resolved; whoever decided the appeal does not decide the case,
    -- as whoever resolved the case does not decide the appeal: api.decide_appeal).
    IF v_case.reported_user_id = p_moderator
       OR EXISTS (SELECT 1 FROM lp.report_filings AS f WHERE f.case_id = v_case.id AND f.reporter_id = p_moderator)
       OR lp.decided_appeal_of_case(v_case, p_moderator) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002',
            MESSAGE = 'nobody works a case against themselves, one they reported or one whose sanction''s appeal they decided',
            DETAIL = CASE WHEN v_case.reported_user_id = p_moderator THEN 'the case is against you'
                          WHEN EXISTS (SELECT 1 FROM lp.report_filings AS f
                                        WHERE f.case_id = v_case.id AND f.reporter_id = p_moderator)
                              THEN 'you filed a report on this case'
                          ELSE 'you decided the appeal of a sanction of this case' END,
            HINT = format('Your claim runs out at %s; another moderator then claims the case (api.claim_case).',
                          v_case.claim_expires_at);
    END IF;
    -- Cases about staff are the admins' alone (api.claim_case hands them to no moderator; RLS on lp.reports
    -- shows them to none): a moderator whose claim began before its subject became staff does not work it.
    IF lp.current_user_role() IS DISTINCT FROM 'admin'
       AND EXISTS (SELECT 1 FROM lp.users AS u
                    WHERE u.id = v_case.reported_user_id
                      AND lp.is_staff(u.role)) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins work cases about staff',
            DETAIL = 'the reported user is a moderator, an admin or a compliance officer',
            HINT = format('Your claim runs out at %s; an admin then claims the case (api.claim_case).',
                          v_case.claim_expires_at);
    END IF;
    RETURN v_case;
END
$$;
COMMENT ON FUNCTION lp.lock_claimed_case(uuid, uuid) IS 'Owner only: locks a case that p_moderator holds a running claim on and returns it. LP003 unknown case, LP004 closed, LP142 another moderator''s claim is running, LP143 no running claim of p_moderator (never claimed, released or expired), LP002 a case against p_moderator, one they filed a report on or one whose sanction''s appeal they decided (lp.decided_appeal_of_case; api.claim_case never hands those out; a report filed or an appeal decided after the claim), or a case about staff (a moderator, an admin, a compliance officer) when the acting user is no admin. Every action on a claimed case goes through here (api.extend_case_claim, api.release_case, api.resolve_case).';
REVOKE ALL ON FUNCTION lp.lock_claimed_case(uuid, uuid) FROM PUBLIC;
