CREATE FUNCTION api.list_appeals(p_status text DEFAULT 'pending', p_limit integer DEFAULT 50)
    RETURNS TABLE (
        appeal_id        uuid,
        sanction_id      uuid,
        user_id          uuid,
        username         text,
        sanction_type    text,
        sanction_reason  text,
        issued_by        uuid,
        starts_at        timestamptz,
        ends_at          timestamptz,
        in_force         boolean,
        statement        text,
        status           text,
        created_at       timestamptz,
        decided_by       uuid,
        decided_at       timestamptz,
        decision_reasons text,
        may_decide       boolean
    )
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor uuid := lp.require_user('moderator', 'admin');
    v_admin boolean := lp.current_user_role() IS NOT DISTINCT FROM 'admin';
BEGIN
    IF p_status IS NOT NULL THEN
        PERFORM lp.check_choice(p_status, 'lp.appeal_status', 'appeal status');
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 500 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 500';
    END IF;
    -- The queue: oldest first. may_decide: what api.decide_appeal would allow the actor (not the issuer, not
    -- the moderator who resolved the sanction's case nor one who reported it, not their own, staff appeals for
    -- admins only, still pending); a moderator is not shown the appeals of staff at all (below).
    RETURN QUERY
    SELECT a.id, s.id, a.user_id, u.username::text, s.sanction_type::text, s.reason, s.issued_by, s.starts_at,
           s.ends_at,
           s.revoked_at IS NULL AND s.starts_at <= statement_timestamp() AND (s.ends_at IS NULL OR s.ends_at > statement_timestamp()),
           a.statement, a.status::text, a.created_at, a.decided_by, a.decided_at, a.decision_reasons,
           a.status = 'pending' AND s.issued_by IS DISTINCT FROM v_actor AND a.user_id <> v_actor
               AND (v_admin OR NOT lp.is_staff(u.role))
               AND NOT EXISTS (SELECT 1 FROM lp.reports AS r WHERE r.id = s.report_id AND r.resolved_by = v_actor)
               AND NOT EXISTS (SELECT 1 FROM lp.reports AS r
                                WHERE r.reported_user_id = s.user_id AND r.sanction_id = s.id
                                  AND r.resolved_by = v_actor)
               AND NOT EXISTS (SELECT 1 FROM lp.report_filings AS f JOIN lp.reports AS r ON r.id = f.case_id
                                WHERE f.reporter_id = v_actor
                                  AND (r.id = s.report_id
                                       OR (r.reported_user_id = s.user_id AND r.sanction_id = s.id)))
      FROM lp.sanction_appeals AS a
      JOIN lp.user_sanctions AS s ON s.id = a.sanction_id
      JOIN lp.users AS u ON u.id = a.user_id
     WHERE (p_status IS NULL OR a.status = p_status::lp.appeal_status)
       -- The appeals of staff (lp.is_staff) are the admins' alone, to read as to decide, as the sanctions and
       -- cases about staff are (RLS on lp.user_sanctions, lp.sanction_appeals, lp.reports).
       AND (v_admin OR NOT lp.is_staff(u.role))
       -- Nor their own appeals, which they may not decide: the queue names who issued the sanction and who
       -- decided the appeal (issued_by, decided_by), which the appellant never learns (as RLS on lp.audit_logs
       -- hides the sanction.* and appeal.* rows of their sanctions from them); they read their appeal and its
       -- decision through api.my_sanctions (the issuer and the decider by label).
       AND a.user_id <> v_actor
     ORDER BY a.created_at, a.id
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_appeals(text, integer) IS 'Moderators and admins: the appeals queue, oldest first (p_status pending by default, granted, denied, moot (closed when the sanction was lifted), or NULL for all; at most p_limit 1..500 rows), each with its sanction and whether the actor may decide it (may_decide: not the issuer, not the moderator who resolved the sanction''s case nor one who filed a report on it, not their own, pending); the appeals of staff (moderators, admins, compliance officers: lp.is_staff) are listed to admins only; the actor''s own appeals are not listed (they read them, the issuer and the decider by label, through api.my_sanctions). LP018 bad status or limit.';
REVOKE ALL ON FUNCTION api.list_appeals(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_appeals(text, integer) TO livepanty_app, livepanty_service;
