CREATE FUNCTION lp.has_active_sanction(p_user_id uuid, p_type text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM lp.user_sanctions AS s
                    WHERE s.user_id = p_user_id AND s.sanction_type::text = p_type AND s.revoked_at IS NULL
                      AND s.starts_at <= statement_timestamp() AND (s.ends_at IS NULL OR s.ends_at > statement_timestamp()));
$$;
COMMENT ON FUNCTION lp.has_active_sanction(uuid, text) IS 'Owner only: whether the user is under an active (started, not ended, not revoked) sanction of this exact type.';
REVOKE ALL ON FUNCTION lp.has_active_sanction(uuid, text) FROM PUBLIC;
