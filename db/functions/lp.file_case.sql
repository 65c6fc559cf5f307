CREATE FUNCTION lp.file_case(
    p_source           text,
    p_reason           text,
    p_target_type      text,
    p_reported_user_id uuid,
    p_stream_id        uuid,
    p_tip_id           uuid,
    p_details          jsonb,
    p_priority         text DEFAULT NULL,
    p_description      text DEFAULT NULL
) RETURNS lp.reports
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_case    lp.reports;
    v_days    integer;
    v_sla     jsonb := lp.setting('review.sla_business_days');
    v_details jsonb := CASE WHEN p_details IS NULL OR p_details = '{}'::jsonb THEN NULL
                            ELSE p_details || jsonb_build_object('source', p_source, 'at', now()) END;
BEGIN
    PERFORM lp.check_choice(p_source, 'lp.case_source', 'case source');
    PERFORM lp.check_choice(p_reason, 'lp.case_reason', 'case reason');
    PERFORM lp.check_choice(p_target_type, 'lp.report_target', 'report target');
    IF p_priority IS NOT NULL AND NOT p_priority = ANY (ARRAY['low', 'normal', 'high', 'critical']) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'priority must be low, normal, high or critical';
    END IF;
    IF p_details IS NOT NULL AND jsonb_typeof(p_details) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'details must be a JSON object';
    END IF;
    IF p_reported_user_id IS NULL AND p_stream_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'a case needs a reported user or a stream';
    END IF;
    v_days := coalesce((v_sla ->> p_reason)::integer, (v_sla ->> 'default')::integer, 7);
    -- One open case per target and reason: the unique index reports_open_case_key is where two filers meet.
    -- The loser of a race finds the winner's row and merges into it (locked, so counts never get lost).
    LOOP
        INSERT INTO lp.reports (reporter_id, reported_user_id, stream_id, tip_id, reason, source, target_type,
                                description, details, due_at)
        VALUES (NULL, p_reported_user_id, p_stream_id, p_tip_id, p_reason::lp.case_reason,
                p_source::lp.case_source, p_target_type::lp.report_target, p_description,
                jsonb_build_object('events', CASE WHEN v_details IS NULL THEN '[]'::jsonb
                                                  ELSE jsonb_build_array(v_details) END)
                || CASE WHEN p_priority IS NULL THEN '{}'::jsonb
                        ELSE jsonb_build_object('priority_floor', p_priority) END,
                lp.business_days_after(now(), v_days))
        ON CONFLICT (target_type, reason, reported_user_id, stream_id, tip_id)
            WHERE status IN ('open', 'in_review', 'escalated') DO NOTHING
        RETURNING * INTO v_case;
        EXIT WHEN FOUND;
        SELECT r.* INTO v_case FROM lp.reports AS r
         WHERE r.target_type = p_target_type::lp.report_target AND r.reason = p_reason::lp.case_reason
           AND r.reported_user_id IS NOT DISTINCT FROM p_reported_user_id
           AND r.stream_id IS NOT DISTINCT FROM p_stream_id AND r.tip_id IS NOT DISTINCT FROM p_tip_id
           AND r.status IN ('open', 'in_review', 'escalated')
           FOR UPDATE;
        IF FOUND THEN
            UPDATE lp.reports AS r
               SET details = r.details
                             || jsonb_build_object('events', coalesce(r.details -> 'events', '[]'::jsonb)
                                                   || CASE WHEN v_details IS NULL THEN '[]'::jsonb
                                                           ELSE jsonb_build_array(v_details) END)
                             || CASE WHEN p_priority IS NULL
                                       OR array_position(ARRAY['critical', 'high', 'normal', 'low'], p_priority)
                                          >= coalesce(array_position(ARRAY['critical', 'high', 'normal', 'low'],
                                                                     r.details ->> 'priority_floor'), 5)
                                     THEN '{}'::jsonb
                                     ELSE jsonb_build_object('priority_floor', p_priority) END
             WHERE r.id = v_case.id
            RETURNING r.* INTO v_case;
            EXIT;
        END IF;
        -- The conflicting case was closed meanwhile: try again (a new case this time).
    END LOOP;
    RETURN lp.rescore_case(v_case.id);
END
$$;
COMMENT ON FUNCTION lp.file_case(text, text, text, uuid, uuid, uuid, jsonb, text, text) IS 'Owner only: opens the review case of a target (p_target_type user, stream, tip or profile) and reason, or merges into the open one (locked), appending p_details to details.events and raising the priority floor to p_priority; a new case is due after review.sla_business_days business days. Returns the case, rescored. LP018 for a bad source, reason, target type, priority or details.';
REVOKE ALL ON FUNCTION lp.file_case(text, text, text, uuid, uuid, uuid, jsonb, text, text) FROM PUBLIC;
