CREATE FUNCTION lp.filed_against_reader(p_case_id text, p_details jsonb) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_me      uuid := api.current_user_id();
    v_case    uuid := lp.as_uuid(p_case_id);
    v_purged  boolean := false;
    v_details jsonb;
    v_target  uuid;
BEGIN
    -- Whether an audit row of case p_case_id (target the case: report.file, case.open, case.claim,
    -- case.extend_claim, case.release, case.escalate, case.resolve; p_details its details) is about the acting
    -- user: the case is against them or, the case purged since (api.purge_personal_data), a row of the case
    -- names them: this one, or (the claim, extension, release and escalation rows name nobody) the case's
    -- report.file (the target the reporter named: their user or profile, a stream they host or a tip they sent),
    -- case.open or case.resolve row (reported_user_id). Its actor is the reporter or whoever handled the case,
    -- whom the reported user never learns (RLS on lp.audit_logs hides these rows from them, as RLS on lp.reports
    -- and lp.report_filings hides the case and its filings; they read the decision, api.my_case_decisions).
    IF v_me IS NULL THEN
        RETURN false;
    END IF;
    IF v_case IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM lp.reports AS r WHERE r.id = v_case AND r.reported_user_id = v_me) THEN
            RETURN true;
        END IF;
        v_purged := NOT EXISTS (SELECT 1 FROM lp.reports AS r WHERE r.id = v_case);
    END IF;
    FOR v_details IN
        SELECT p_details
        UNION ALL
        SELECT a.details FROM lp.audit_logs AS a
         WHERE v_purged AND a.target_type = 'report' AND a.target_id = p_case_id
           AND a.action IN ('report.file', 'case.open', 'case.resolve')
    LOOP
        IF lp.as_uuid(v_details ->> 'reported_user_id') = v_me THEN
            RETURN true;
        END IF;
        v_target := lp.as_uuid(v_details ->> 'target_id');
        IF v_target IS NOT NULL AND (CASE v_details ->> 'target_type'
               WHEN 'user' THEN v_target = v_me
               WHEN 'profile' THEN v_target = v_me
               WHEN 'stream' THEN EXISTS (SELECT 1 FROM lp.streams AS s WHERE s.id = v_target AND s.host_id = v_me)
               WHEN 'tip' THEN EXISTS (SELECT 1 FROM lp.tips AS t WHERE t.id = v_target AND t.sender_id = v_me)
               ELSE false END) THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END
$$;
COMMENT ON FUNCTION lp.filed_against_reader(text, jsonb) IS 'RLS on lp.audit_logs: whether an audit row of a case (target the case: report.file, case.open, case.claim, case.extend_claim, case.release, case.escalate, case.resolve; its target id and details) is about the acting user: the case is against them or, once the case is purged, a row of the case names them (this row or the case''s report.file, case.open or case.resolve row: the target the reporter named, their user or profile, a stream they host, a tip they sent; or reported_user_id). Its actor is the reporter or whoever handled the case: such rows are hidden from the reported user. False when nobody acts. SECURITY DEFINER so the policy reads the case and its other audit rows past RLS (which hides a case from the user it is against).';
REVOKE ALL ON FUNCTION lp.filed_against_reader(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lp.filed_against_reader(text, jsonb) TO livepanty_app, livepanty_service;
