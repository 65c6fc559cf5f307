CREATE FUNCTION lp.sanctioned(p_user_id uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- lp.active_sanction's rule (a suspension or ban in force), as a yes/no: api.tip and api.tip_many ask it
    -- inside their one read instead of calling lp.active_sanction per user. PL/pgSQL, not SQL: the EXISTS
    -- keeps a SQL function from being inlined, and a SQL function that is not inlined is parsed and planned
    -- again on every call; PL/pgSQL plans its query once per session.
    RETURN EXISTS (SELECT 1 FROM lp.user_sanctions AS s
                    WHERE s.user_id = p_user_id
                      AND s.revoked_at IS NULL
                      AND s.sanction_type IN ('suspension', 'ban')
                      AND s.starts_at <= pg_catalog.now()
                      AND (s.ends_at IS NULL OR s.ends_at > pg_catalog.now()));
END
$$;
COMMENT ON FUNCTION lp.sanctioned(uuid) IS 'Whether a suspension or ban is in force for the user (what lp.active_sanction finds with its default types). Owner-only, called from SECURITY DEFINER functions (no pinned search path of its own: every name is qualified).';
REVOKE ALL ON FUNCTION lp.sanctioned(uuid) FROM PUBLIC;
