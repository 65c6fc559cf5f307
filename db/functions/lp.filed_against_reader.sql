CREATE FUNCTION lp.filed_against_reader(p_case_id text, p_details jsonb) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_me     uuid := api.current_user_id();
    v_target text := p_details ->> 'target_id';
    v_uuid   constant text := '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
BEGIN
    -- Whether the report.file audit row of case p_case_id (its details: what the reporter named) is about the
    -- acting user: the case is against them, or (the case purged since: api.purge_personal_data) the target
    -- named was their user or profile, a stream they host or a tip they sent. Its actor is the reporter, whom
    -- the reported user never learns (RLS on lp.audit_logs hides these rows from them, as RLS on lp.reports and
    -- lp.report_filings hides the case and its filings).
    IF v_me IS NULL THEN
        RETURN false;
    END IF;
    IF p_case_id ~ v_uuid
       AND EXISTS (SELECT 1 FROM lp.reports AS r WHERE r.id = p_case_id::uuid AND r.reported_user_id = v_me) THEN
        RETURN true;
    END IF;
    IF v_target IS NULL OR v_target !~ v_uuid THEN
        RETURN false;
    END IF;
    RETURN CASE p_details ->> 'target_type'
        WHEN 'user' THEN v_target::uuid = v_me
        WHEN 'profile' THEN v_target::uuid = v_me
        WHEN 'stream' THEN EXISTS (SELECT 1 FROM lp.streams AS s WHERE s.id = v_target::uuid AND s.host_id = v_me)
        WHEN 'tip' THEN EXISTS (SELECT 1 FROM lp.tips AS t WHERE t.id = v_target::uuid AND t.sender_id = v_me)
        ELSE false END;
END
$$;
COMMENT ON FUNCTION lp.filed_against_reader(text, jsonb) IS 'RLS on lp.audit_logs: whether a report.file audit row (its target, the case id, and its details) is about the acting user: the case is against them or, once the case is purged, the target it names (their user or profile, a stream they host, a tip they sent). Its actor is the reporter: such rows are hidden from the reported user. False when nobody acts. SECURITY DEFINER so the policy reads the case past RLS (which hides a case from the user it is against).';
REVOKE ALL ON FUNCTION lp.filed_against_reader(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lp.filed_against_reader(text, jsonb) TO livepanty_app, livepanty_service;
