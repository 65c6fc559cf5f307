CREATE FUNCTION lp.sanctioned_reader(p_sanction_id text, p_details jsonb) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_me   uuid := api.current_user_id();
BEGIN
    -- Whether an audit row whose target is the sanction p_sanction_id (appeal.file, appeal.decide, appeal.moot;
    -- p_details its details) is about the acting user: the sanction is theirs (lp.user_sanctions.user_id, read
    -- past RLS), or the row names them as the appellant (details.user_id: appeal.decide, appeal.moot). The actor
    -- of appeal.decide decided their appeal, that of appeal.moot lifted the sanction: whom the sanctioned user
    -- never learns (RLS on lp.audit_logs hides these rows from them, as it hides the sanction.* rows of their
    -- sanctions); they read the decision and its reasons through api.my_sanctions (the decider by staff label).
    IF v_me IS NULL THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM lp.user_sanctions AS s WHERE s.id = lp.as_uuid(p_sanction_id) AND s.user_id = v_me) THEN
        RETURN true;
    END IF;
    RETURN coalesce(lp.as_uuid(p_details ->> 'user_id') = v_me, false);
END
$$;
COMMENT ON FUNCTION lp.sanctioned_reader(text, jsonb) IS 'RLS on lp.audit_logs: whether an audit row whose target is a sanction (its target id and details: appeal.file, appeal.decide, appeal.moot) is about the acting user: the sanction is theirs (lp.user_sanctions.user_id) or the row names them as the appellant (details.user_id). Such rows are hidden from the sanctioned user: appeal.decide''s actor decided their appeal, appeal.moot''s lifted the sanction; they read the decision through api.my_sanctions (the decider by label). False when nobody acts. SECURITY DEFINER so the policy reads the sanction past RLS (which hides the sanctions of staff from moderators).';
REVOKE ALL ON FUNCTION lp.sanctioned_reader(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lp.sanctioned_reader(text, jsonb) TO livepanty_app, livepanty_service;
