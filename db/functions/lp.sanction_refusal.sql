CREATE FUNCTION lp.sanction_refusal(p_user_id uuid, VARIADIC p_actions text[]) RETURNS lp.user_sanctions
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_types    lp.sanction_type[] := lp.sanction_types(VARIADIC p_actions);
    v_sanction lp.user_sanctions;
BEGIN
    -- In force: started, not ended, not revoked. A ban or suspension first (they forbid everything), then
    -- the one that lasts longest. Judged at the statement's time, not the transaction's: a sanction starts at
    -- its issuer's now(), and one committed after a long transaction began (a payout processor's batch) would
    -- otherwise not have started yet for it (every check of a sanction or the KYC gate does the same).
    SELECT s.* INTO v_sanction
      FROM lp.user_sanctions AS s
     WHERE s.user_id = p_user_id
       AND s.revoked_at IS NULL
       AND s.sanction_type = ANY (v_types)
       AND s.starts_at <= pg_catalog.statement_timestamp()
       AND (s.ends_at IS NULL OR s.ends_at > pg_catalog.statement_timestamp())
     ORDER BY (s.sanction_type = 'ban') DESC, (s.sanction_type = 'suspension') DESC, s.ends_at DESC NULLS FIRST
     LIMIT 1;
    RETURN v_sanction;
END
$$;
COMMENT ON FUNCTION lp.sanction_refusal(uuid, text[]) IS 'The sanction in force that forbids the user any of the given actions (lp.sanction_types: login, stream, tip, hold, payout, message), bans and suspensions first, or a row of NULLs when none does. The one sanction check: lp.assert_sanction_allows raises from it, lp.sanction_blocks is its yes/no for the hot paths. Owner only.';
REVOKE ALL ON FUNCTION lp.sanction_refusal(uuid, text[]) FROM PUBLIC;
