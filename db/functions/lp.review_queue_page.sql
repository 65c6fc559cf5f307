CREATE FUNCTION lp.review_queue_page(
    p_status       text,
    p_overdue_only boolean,
    p_reason       text,
    p_source       text,
    p_after_rank   smallint,
    p_after_score  integer,
    p_after_due    timestamptz,
    p_after_at     timestamptz,
    p_after_id     uuid,
    p_limit        integer
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
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_me    uuid := lp.require_user('moderator', 'admin');
    v_admin boolean := lp.current_user_role() IS NOT DISTINCT FROM 'admin';
    v_rank  smallint := p_after_rank;
    v_score integer := p_after_score;
    v_due   timestamptz := p_after_due;
    v_at    timestamptz := p_after_at;
BEGIN
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
    IF p_after_id IS NOT NULL AND p_after_at IS NULL THEN
        -- A cursor id alone (api.review_queue): its key is read here.
        SELECT r.priority_rank, r.priority_score, r.due_at, r.created_at
          INTO v_rank, v_score, v_due, v_at
          FROM lp.reports AS r
         WHERE r.id = p_after_id AND r.reported_user_id IS DISTINCT FROM v_me
           AND (v_admin OR NOT EXISTS (SELECT 1 FROM lp.users AS u
                                        WHERE u.id = r.reported_user_id
                                          AND lp.is_staff(u.role)));
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'case not found (p_after)';
        END IF;
    END IF;
    -- Keyset pagination in queue order (the order api.claim_case takes): critical first, then score
    -- (descending), due time, age, id. p_after_*: the last case of the previous page (the router passes its
    -- whole key: it may live on another shard).
    RETURN QUERY
    WITH precision_of AS MATERIALIZED (SELECT p.detector, p.precision_ratio FROM lp.detector_precision() AS p)
    SELECT r.id, r.source::text, r.target_type::text, r.reason::text, r.status::text, r.priority,
           r.priority_score, r.reporter_count, r.flag_count, r.confidence, r.reported_user_id, r.stream_id,
           r.tip_id, r.assigned_to, r.claim_expires_at, r.due_at,
           r.status IN ('open', 'in_review', 'escalated') AND r.due_at < now(), r.escalated_at, r.created_at,
           (SELECT min(p.precision_ratio) FROM precision_of AS p
             WHERE p.detector IN (SELECT f.detector FROM lp.moderation_flags AS f WHERE f.case_id = r.id))
      FROM lp.reports AS r
     WHERE r.reported_user_id IS DISTINCT FROM v_me  -- never a case against the reader (RLS on lp.reports too)
       -- cases about staff (moderators, admins, compliance officers) for admins only (RLS on lp.reports too)
       AND (v_admin OR NOT EXISTS (SELECT 1 FROM lp.users AS u
                                    WHERE u.id = r.reported_user_id
                                      AND lp.is_staff(u.role)))
       AND (CASE WHEN p_status IS NULL THEN r.status IN ('open', 'in_review', 'escalated')
                 ELSE r.status = p_status::lp.case_status END)
       AND (NOT coalesce(p_overdue_only, false) OR r.due_at < now())
       AND (p_reason IS NULL OR r.reason = p_reason::lp.case_reason)
       AND (p_source IS NULL OR r.source = p_source::lp.case_source)
       AND (p_after_id IS NULL
            OR (r.priority_rank, -r.priority_score, coalesce(r.due_at, 'infinity'), r.created_at, r.id)
               > (v_rank, -v_score, coalesce(v_due, 'infinity'), v_at, p_after_id))
     ORDER BY r.priority_rank, -r.priority_score, coalesce(r.due_at, 'infinity'), r.created_at, r.id
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION lp.review_queue_page(text, boolean, text, text, smallint, integer, timestamptz, timestamptz, uuid, integer) IS 'api.review_queue''s page after the case p_after_id, whose key (rank, score, due time, creation) is read here unless given (the router gives it: every shard''s page of its merged queue): the role check, the filters, the order and the limit of api.review_queue (LP002, LP003, LP018). Never a case against the caller; a case about staff (a moderator, an admin, a compliance officer) only for admins.';
REVOKE ALL ON FUNCTION lp.review_queue_page(text, boolean, text, text, smallint, integer, timestamptz, timestamptz, uuid, integer) FROM PUBLIC;
