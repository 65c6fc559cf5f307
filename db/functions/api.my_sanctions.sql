CREATE FUNCTION api.my_sanctions(p_include_past boolean DEFAULT false)
    RETURNS TABLE (
        sanction_id      uuid,
        sanction_type    text,
        reason           text,
        automated        boolean,
        issued_by_label  text,
        starts_at        timestamptz,
        ends_at          timestamptz,
        in_force         boolean,
        forbids          text[],
        revoked_at       timestamptz,
        revoke_reason    text,
        appealable_until timestamptz,
        appeal_id        uuid,
        appeal_status    text,
        appeal_statement text,
        appealed_at      timestamptz,
        decided_at       timestamptz,
        decision_reasons text,
        decided_by_label text
    )
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_window interval := make_interval(days => (lp.setting('appeals.window_days'))::integer);
BEGIN
    -- The acting user's sanctions, newest first: by default those in force or still to start and those
    -- with an appeal pending; p_include_past adds the ended, lifted and decided ones. Staff appear by label.
    RETURN QUERY
    SELECT s.id, s.sanction_type::text, s.reason, s.issued_by IS NULL, s.issued_by_label, s.starts_at, s.ends_at,
           f.in_force,
           ARRAY(SELECT x.action FROM unnest(ARRAY['login', 'stream', 'tip', 'hold', 'payout', 'message'])
                                      WITH ORDINALITY AS x (action, n)
                  WHERE s.sanction_type = ANY (lp.sanction_types(x.action)) ORDER BY x.n),
           s.revoked_at, s.revoke_reason,
           CASE WHEN a.id IS NULL AND s.revoked_at IS NULL AND now() <= s.starts_at + v_window
                THEN s.starts_at + v_window END,
           a.id, a.status::text, a.statement, a.created_at, a.decided_at, a.decision_reasons, a.decided_by_label
      FROM lp.user_sanctions AS s
      LEFT JOIN lp.sanction_appeals AS a ON a.sanction_id = s.id
     CROSS JOIN LATERAL (SELECT s.revoked_at IS NULL AND s.starts_at <= statement_timestamp()
                                AND (s.ends_at IS NULL OR s.ends_at > statement_timestamp()) AS in_force) AS f
     WHERE s.user_id = v_actor
       AND (coalesce(p_include_past, false)
            OR f.in_force
            OR (s.revoked_at IS NULL AND s.starts_at > now())
            OR a.status = 'pending')
     ORDER BY s.starts_at DESC, s.id;
END
$$;
COMMENT ON FUNCTION api.my_sanctions(boolean) IS 'The acting user''s sanctions, newest first, each with what it forbids (lp.sanction_types), until when it may be appealed (appealable_until, NULL when it no longer may) and its appeal: status, statement, decision and reasons (the deciding moderator by label). By default those in force or still to start and those with a pending appeal; p_include_past true: all.';
REVOKE ALL ON FUNCTION api.my_sanctions(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.my_sanctions(boolean) TO livepanty_app, livepanty_service;
