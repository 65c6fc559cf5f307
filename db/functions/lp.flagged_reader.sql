CREATE FUNCTION lp.flagged_reader(p_flag_id text, p_details jsonb) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_me   uuid := api.current_user_id();
BEGIN
    -- Whether a flag.raise audit row (target the flag p_flag_id, p_details its details) is about the acting user:
    -- the flag names them (lp.moderation_flags.user_id: the flagged user, the stream's host when the detector named
    -- none; RLS on lp.moderation_flags keeps it from them), or the case it opened or joined (details.case_id) is
    -- against them, open, resolved or purged since (lp.filed_against_reader). The row says, with no actor, that a
    -- detector flagged them and which case it queued the flag in: RLS on lp.audit_logs hides it from them, as it
    -- hides the case's own rows; they read the decision (api.my_case_decisions) and a suspension it brought
    -- (api.my_sanctions).
    IF v_me IS NULL THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM lp.moderation_flags AS f WHERE f.id = lp.as_uuid(p_flag_id) AND f.user_id = v_me) THEN
        RETURN true;
    END IF;
    RETURN lp.as_uuid(p_details ->> 'case_id') IS NOT NULL
           AND lp.filed_against_reader(p_details ->> 'case_id', '{}'::jsonb);
END
$$;
COMMENT ON FUNCTION lp.flagged_reader(text, jsonb) IS 'RLS on lp.audit_logs: whether a flag.raise audit row (its target id, the flag, and details) is about the acting user: the flag names them (lp.moderation_flags.user_id) or the case it queued the flag in (details.case_id) is against them, open, resolved or purged (lp.filed_against_reader). Such rows are hidden from the flagged user: they told them that a case against them exists. False when nobody acts. SECURITY DEFINER so the policy reads the flag past RLS (which hides a flag from the user it names).';
REVOKE ALL ON FUNCTION lp.flagged_reader(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lp.flagged_reader(text, jsonb) TO livepanty_app, livepanty_service;
