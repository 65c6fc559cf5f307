CREATE FUNCTION lp.sanction_blocks(p_user_id uuid, VARIADIC p_actions text[]) RETURNS boolean
    LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- lp.sanction_refusal's rule as a yes/no, for api.tip and api.tip_many to ask inside their one read (as
    -- lp.sanctioned): one index probe on the user's unrevoked sanctions. PL/pgSQL plans it once per session.
    RETURN EXISTS (SELECT 1 FROM lp.user_sanctions AS s
                    WHERE s.user_id = p_user_id
                      AND s.revoked_at IS NULL
                      AND s.sanction_type = ANY (lp.sanction_types(VARIADIC p_actions))
                      AND s.starts_at <= pg_catalog.statement_timestamp()
                      AND (s.ends_at IS NULL OR s.ends_at > pg_catalog.statement_timestamp()));
END
$$;
COMMENT ON FUNCTION lp.sanction_blocks(uuid, text[]) IS 'Whether a sanction in force forbids the user any of the given actions (lp.sanction_refusal finds it; lp.assert_sanction_allows raises). Owner only.';
REVOKE ALL ON FUNCTION lp.sanction_blocks(uuid, text[]) FROM PUBLIC;
