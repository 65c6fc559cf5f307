CREATE FUNCTION api.claim_case() RETURNS SETOF lp.reports
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_me      uuid := lp.require_user('moderator', 'admin');
    v_admin   boolean := lp.current_user_role() IS NOT DISTINCT FROM 'admin';
    v_minutes integer := least((lp.setting('review.claim_minutes'))::integer,
                               (lp.setting('review.max_claim_minutes'))::integer);
    v_rest    interval := make_interval(mins => (lp.setting('review.claim_minutes'))::integer);
    v_case    lp.reports;
    v_decided_sanctions uuid[];
    v_decided_cases     uuid[];
BEGIN
    -- The sanctions whose appeal the caller decided (granted or denied) and the cases they name: the rule of
    -- lp.decided_appeal_of_case, read once here rather than for every case the queue order walks past.
    v_decided_sanctions := ARRAY(SELECT a.sanction_id FROM lp.sanction_appeals AS a
                                  WHERE a.decided_by = v_me AND a.status IN ('granted', 'denied'));
    v_decided_cases := ARRAY(SELECT s.report_id FROM lp.user_sanctions AS s
                              WHERE s.id = ANY (v_decided_sanctions) AND s.report_id IS NOT NULL);
    -- The next case in queue order that nobody works: open, escalated, or claimed with an expired lease.
    -- SKIP LOCKED: concurrent moderators each get a different case, never wait for each other. Nobody works
    -- a case against themselves, one they reported or one whose sanction's appeal they decided
    -- (lp.lock_claimed_case); cases against staff go to admins only (a moderator may not sanction staff:
    -- api.resolve_case; nor read a case about a moderator, an admin or a compliance officer: RLS on lp.reports).
    -- Nor a case whose claim of the caller's ended less than review.claim_minutes ago, given back (released_by,
    -- released_at) or run out (still on the row: assigned_to, claim_expires_at): a claim lasts at most
    -- review.max_claim_minutes (api.extend_case_claim), and taking the case again at once would start a new one,
    -- so its holder could keep it from the others indefinitely. Meanwhile the others may claim it; afterwards
    -- the caller too (a new claim). A running claim is nobody's to claim, its holder's included.
    SELECT r.* INTO v_case FROM lp.reports AS r
     WHERE (r.status IN ('open', 'escalated') OR (r.status = 'in_review' AND r.claim_expires_at <= now()))
       AND NOT coalesce(r.status = 'in_review' AND r.assigned_to = v_me AND r.claim_expires_at > now() - v_rest,
                        false)
       AND NOT coalesce(r.status IN ('open', 'escalated') AND r.released_by = v_me
                        AND r.released_at > now() - v_rest, false)
       AND r.reported_user_id IS DISTINCT FROM v_me
       AND NOT EXISTS (SELECT 1 FROM lp.report_filings AS f WHERE f.case_id = r.id AND f.reporter_id = v_me)
       AND NOT r.id = ANY (v_decided_cases)
       AND (r.sanction_id IS NULL OR NOT r.sanction_id = ANY (v_decided_sanctions))
       AND (v_admin OR NOT EXISTS (SELECT 1 FROM lp.users AS u
                                    WHERE u.id = r.reported_user_id
                                      AND lp.is_staff(u.role)))
     ORDER BY r.priority_rank, r.priority_score DESC, r.due_at NULLS LAST, r.created_at, r.id
     LIMIT 1
       FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE lp.reports AS r
       SET status = 'in_review', assigned_to = v_me, claimed_at = now(),
           claim_expires_at = now() + make_interval(mins => v_minutes)
     WHERE r.id = v_case.id
    RETURNING r.* INTO v_case;
    PERFORM lp.audit('case.claim', 'report', v_case.id::text,
                     jsonb_build_object('claim_expires_at', v_case.claim_expires_at, 'priority', v_case.priority));
    RETURN NEXT v_case;
END
$$;
COMMENT ON FUNCTION api.claim_case() IS 'Moderators and admins: claims the next case of the review queue (critical first, then by score, due time, age) that nobody works (open, escalated, or an expired claim), but not one whose claim of the caller''s ended (given back, api.release_case, or run out) less than review.claim_minutes ago (so a claim is not renewed past review.max_claim_minutes by taking the case again: the others may claim it meanwhile), with a lease of review.claim_minutes (at most review.max_claim_minutes, the longest a claim may last: api.extend_case_claim); concurrent callers never get the same case (FOR UPDATE SKIP LOCKED). Never a case against the caller, one they reported or one whose sanction''s appeal they decided; cases against staff (moderators, admins, compliance officers) only for admins. Returns the case, or no row when the queue is empty. LP002 other roles. Audited (case.claim).';
REVOKE ALL ON FUNCTION api.claim_case() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.claim_case() TO livepanty_app, livepanty_service;
