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
BEGIN
    RETURN QUERY SELECT * FROM lp.review_queue_page(p_status, p_overdue_only, p_reason, p_source, NULL, NULL, NULL, NULL,
                                                   p_after, p_limit);
END
$$;
COMMENT ON FUNCTION api.review_queue(text, boolean, text, text, uuid, integer) IS 'Moderators and admins: the review queue in claim order (critical first, then score, due time, age), keyset paginated (p_after: the last case id of the previous page; p_limit 1..500), filtered by status (default: every case not closed), overdue only, reason and source; never a case against the caller (staff are reported users like any other), and a case about staff (a moderator, an admin, a compliance officer) only for admins. Each row shows whether it is overdue (past due_at while not closed), who holds it until when, and the lowest precision among the detectors of its flags (lp.detector_precision). LP002 other roles, LP003 unknown p_after (or one the caller may not read), LP018 bad filter or limit.';
REVOKE ALL ON FUNCTION api.review_queue(text, boolean, text, text, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.review_queue(text, boolean, text, text, uuid, integer) TO livepanty_app, livepanty_service;
