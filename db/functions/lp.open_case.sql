CREATE FUNCTION lp.open_case(
    p_source           text,
    p_reason           text,
    p_reported_user_id uuid,
    p_stream_id        uuid,
    p_details          jsonb,
    p_priority         text DEFAULT NULL
) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_case lp.reports;
BEGIN
    -- The one entry of the automated sources (fraud controls, system jobs) into the review queue: the target
    -- is the stream when one is given (its host the reported user when none is), else the user.
    IF p_stream_id IS NOT NULL AND p_reported_user_id IS NULL THEN
        SELECT s.host_id INTO p_reported_user_id FROM lp.streams AS s WHERE s.id = p_stream_id;
    END IF;
    v_case := lp.file_case(p_source, p_reason, CASE WHEN p_stream_id IS NULL THEN 'user' ELSE 'stream' END,
                           p_reported_user_id, p_stream_id, NULL, coalesce(p_details, '{}'::jsonb), p_priority);
    PERFORM lp.audit('case.open', 'report', v_case.id::text,
                     jsonb_build_object('source', p_source, 'reason', p_reason,
                                        'reported_user_id', p_reported_user_id, 'stream_id', p_stream_id,
                                        'priority', v_case.priority),
                     p_actor_id => NULL);
    RETURN v_case.id;
END
$$;
COMMENT ON FUNCTION lp.open_case(text, text, uuid, uuid, jsonb, text) IS 'Owner only: files a case in the review queue for an automated source (p_source report, flag, fraud or system) or merges into the open case of the same target (the stream when given, else the user) and reason; p_priority is a floor (NULL: computed). Returns the case id. Audited (case.open, no actor). LP018 for a bad source, reason or priority.';
REVOKE ALL ON FUNCTION lp.open_case(text, text, uuid, uuid, jsonb, text) FROM PUBLIC;
