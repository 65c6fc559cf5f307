CREATE FUNCTION lp.active_sanction(
    p_user_id uuid,
    p_types   text[] DEFAULT ARRAY['suspension', 'ban']
) RETURNS lp.user_sanctions
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_sanction lp.user_sanctions;
BEGIN
    -- PL/pgSQL rather than SQL: the function cannot be inlined anyway (it pins its search path), and a
    -- PL/pgSQL body keeps its plan for the session instead of planning the query on every call (every tip
    -- asks twice).
    SELECT s.* INTO v_sanction
      FROM lp.user_sanctions AS s
     WHERE s.user_id = p_user_id
       AND s.revoked_at IS NULL
       AND s.sanction_type::text = ANY (p_types)
       AND s.starts_at <= statement_timestamp()
       AND (s.ends_at IS NULL OR s.ends_at > statement_timestamp())
     ORDER BY (s.sanction_type = 'ban') DESC, s.ends_at DESC NULLS FIRST
     LIMIT 1;
    RETURN v_sanction;
END
$$;
COMMENT ON FUNCTION lp.active_sanction(uuid, text[]) IS 'The most severe sanction of the given types in force for a user now (bans first, then the longest), or a row of NULLs. The one sanction check every blocking rule reuses.';
REVOKE ALL ON FUNCTION lp.active_sanction(uuid, text[]) FROM PUBLIC;
