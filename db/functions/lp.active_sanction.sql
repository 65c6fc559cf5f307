CREATE FUNCTION lp.active_sanction(
    p_user_id uuid,
    p_types   text[] DEFAULT ARRAY['suspension', 'ban']
) RETURNS lp.user_sanctions
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT s.* FROM lp.user_sanctions AS s
     WHERE s.user_id = p_user_id
       AND s.revoked_at IS NULL
       AND s.sanction_type = ANY (p_types)
       AND s.starts_at <= now()
       AND (s.ends_at IS NULL OR s.ends_at > now())
     ORDER BY (s.sanction_type = 'ban') DESC, s.ends_at DESC NULLS FIRST
     LIMIT 1
$$;
COMMENT ON FUNCTION lp.active_sanction(uuid, text[]) IS 'The most severe sanction of the given types in force for a user now (bans first, then the longest), or NULL. The one sanction check every blocking rule reuses.';
REVOKE ALL ON FUNCTION lp.active_sanction(uuid, text[]) FROM PUBLIC;
