CREATE FUNCTION lp.rescore_case(p_case_id uuid) RETURNS lp.reports
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_case     lp.reports;
    v_severity integer;
    v_history  integer;
    v_score    integer;
    v_priority text;
    v_floor    text;
BEGIN
    -- The caller holds the case row. Score = severity of the reason (review.severity)
    --   + 10 per trusted reporter (at most 5) + 40 x the highest detector confidence
    --   + 5 per case acted upon against the same user in the last 365 days (at most 4)
    --   - 30 when every filing came from a deprioritised reporter (reporter reputation) and nothing else backs it.
    -- Priority: critical for the reasons of review.critical_reasons (they jump the queue whatever the score),
    -- else high from 90, normal from 50, low below; never below the floor its opener asked for
    -- (details.priority_floor) nor below high once escalated.
    SELECT r.* INTO STRICT v_case FROM lp.reports AS r WHERE r.id = p_case_id;
    v_severity := coalesce((lp.setting('review.severity') ->> v_case.reason::text)::integer, 20);
    SELECT count(*)::integer INTO v_history
      FROM lp.reports AS h
     WHERE h.reported_user_id = v_case.reported_user_id AND h.id <> v_case.id AND h.status = 'resolved'
       AND h.resolved_at > now() - interval '365 days';
    v_score := v_severity + 10 * least(v_case.trusted_reporter_count, 5)
             + coalesce(round(v_case.confidence * 40)::integer, 0) + 5 * least(v_history, 4);
    IF v_case.reporter_count > 0 AND v_case.trusted_reporter_count = 0 AND v_case.flag_count = 0
       AND v_case.source = 'report' THEN
        v_score := v_score - 30;
    END IF;
    v_priority := CASE
        WHEN lp.setting('review.critical_reasons') ? v_case.reason::text THEN 'critical'
        WHEN v_score >= 90 THEN 'high'
        WHEN v_score >= 50 THEN 'normal'
        ELSE 'low' END;
    v_floor := v_case.details ->> 'priority_floor';
    IF v_case.escalated_at IS NOT NULL AND v_priority IN ('normal', 'low') THEN
        v_priority := 'high';
    END IF;
    IF v_floor IS NOT NULL AND array_position(ARRAY['critical', 'high', 'normal', 'low'], v_floor)
                               < array_position(ARRAY['critical', 'high', 'normal', 'low'], v_priority) THEN
        v_priority := v_floor;
    END IF;
    UPDATE lp.reports AS r SET priority_score = v_score, priority = v_priority
     WHERE r.id = p_case_id AND (r.priority_score, r.priority) IS DISTINCT FROM (v_score, v_priority)
    RETURNING r.* INTO v_case;
    IF NOT FOUND THEN
        SELECT r.* INTO STRICT v_case FROM lp.reports AS r WHERE r.id = p_case_id;
    END IF;
    RETURN v_case;
END
$$;
COMMENT ON FUNCTION lp.rescore_case(uuid) IS 'Owner only: recomputes a case''s priority_score and priority from the severity of its reason (review.severity), its trusted reporters, detector confidence and the reported user''s history; review.critical_reasons are always critical. The caller holds the case row.';
REVOKE ALL ON FUNCTION lp.rescore_case(uuid) FROM PUBLIC;
