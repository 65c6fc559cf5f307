CREATE FUNCTION api.review_queue(
    p_status       text DEFAULT NULL,
    p_overdue_only boolean DEFAULT false,
    p_reason       text DEFAULT NULL,
    p_source       text DEFAULT NULL,
    p_after        uuid DEFAULT NULL,
    p_limit        integer DEFAULT 50
) RETURNS TABLE (
        case_id            uuid,
        source             text,
        target_type        text,
        reason             text,
        status             text,
        priority           text,
        priority_score     integer,
        reporter_count     integer,
        flag_count         integer,
        confidence         numeric,
        reported_user_id   uuid,
        stream_id          uuid,
        tip_id             uuid,
        assigned_to        uuid,
        claim_expires_at   timestamptz,
        due_at             timestamptz,
        overdue            boolean,
        escalated_at       timestamptz,
        created_at         timestamptz,
        detector_precision numeric
    )
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_after lp.reports;
BEGIN
    PERFORM lp.require_user('moderator', 'admin');
    IF p_status IS NOT NULL THEN
        PERFORM lp.check_choice(p_status, 'lp.case_status', 'case status');
    END IF;
    IF p_reason IS NOT NULL THEN
        PERFORM lp.check_choice(p_reason, 'lp.case_reason', 'case reason');
    END IF;
    IF p_source IS NOT NULL THEN
        PERFORM lp.check_choice(p_source, 'lp.case_source', 'case source');
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 500 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 500';
    END IF;
    IF p_after IS NOT NULL THEN
        SELECT r.* INTO v_after FROM lp.reports AS r WHERE r.id = p_after;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'case not found (p_after)';
        END IF;
    END IF;
    -- Keyset pagination in queue order (the order api.claim_case takes): critical first, then score
    -- (descending), due time, age, id. p_after is the last case of the previous page.
    RETURN QUERY
    WITH precision_of AS MATERIALIZED (SELECT p.detector, p.precision_ratio FROM lp.detector_precision() AS p)
    SELECT r.id, r.source::text, r.target_type::text, r.reason::text, r.status::text, r.priority,
           r.priority_score, r.reporter_count, r.flag_count, r.confidence, r.reported_user_id, r.stream_id,
           r.tip_id, r.assigned_to, r.claim_expires_at, r.due_at,
           r.status IN ('open', 'in_review', 'escalated') AND r.due_at < now(), r.escalated_at, r.created_at,
           (SELECT min(p.precision_ratio) FROM precision_of AS p
             WHERE p.detector IN (SELECT f.detector FROM lp.moderation_flags AS f WHERE f.case_id = r.id))
      FROM lp.reports AS r
     WHERE (CASE WHEN p_status IS NULL THEN r.status IN ('open', 'in_review', 'escalated')
                 ELSE r.status = p_status::lp.case_status END)
       AND (NOT coalesce(p_overdue_only, false) OR r.due_at < now())
       AND (p_reason IS NULL OR r.reason = p_reason::lp.case_reason)
       AND (p_source IS NULL OR r.source = p_source::lp.case_source)
       AND (p_after IS NULL
            OR (r.priority_rank, -r.priority_score, coalesce(r.due_at, 'infinity'), r.created_at, r.id)
               > (v_after.priority_rank, -v_after.priority_score, coalesce(v_after.due_at, 'infinity'),
                  v_after.created_at, v_after.id))
     ORDER BY r.priority_rank, -r.priority_score, coalesce(r.due_at, 'infinity'), r.created_at, r.id
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.review_queue(text, boolean, text, text, uuid, integer) IS 'Moderators and admins: the review queue in claim order (critical first, then score, due time, age), keyset paginated (p_after: the last case id of the previous page; p_limit 1..500), filtered by status (default: every case not closed), overdue only, reason and source. Each row shows whether it is overdue (past due_at while not closed), who holds it until when, and the lowest precision among the detectors of its flags (lp.detector_precision). LP002 other roles, LP003 unknown p_after, LP018 bad filter or limit.';
REVOKE ALL ON FUNCTION api.review_queue(text, boolean, text, text, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.review_queue(text, boolean, text, text, uuid, integer) TO livepanty_app, livepanty_service;
