CREATE FUNCTION lp.sanctioned(p_user_id uuid) RETURNS boolean
    LANGUAGE sql STABLE
AS $$
    -- lp.active_sanction's rule (a suspension or ban in force), as a yes/no a query can inline: api.tip and
    -- api.tip_many ask it inside their one read instead of calling lp.active_sanction per user.
    SELECT EXISTS (SELECT 1 FROM lp.user_sanctions AS s
                    WHERE s.user_id = p_user_id
                      AND s.revoked_at IS NULL
                      AND s.sanction_type IN ('suspension', 'ban')
                      AND s.starts_at <= pg_catalog.now()
                      AND (s.ends_at IS NULL OR s.ends_at > pg_catalog.now()))
$$;
COMMENT ON FUNCTION lp.sanctioned(uuid) IS 'Whether a suspension or ban is in force for the user (what lp.active_sanction finds with its default types). Inlinable (SQL, no pinned search path): owner-only, called from SECURITY DEFINER functions.';
REVOKE ALL ON FUNCTION lp.sanctioned(uuid) FROM PUBLIC;
