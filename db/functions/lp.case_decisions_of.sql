CREATE FUNCTION lp.case_decisions_of(p_user_id uuid, p_limit integer)
    RETURNS TABLE (
        case_id     uuid,
        target_type text,
        reason      text,
        status      text,
        action      text,
        automated   boolean,
        facts       text,
        rule        text,
        appeal      text,
        sanction_id uuid,
        decided_at  timestamptz
    )
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- The statement of reasons of every decision about the user (resolved cases and automated actions pending
    -- review), newest first. Never who reported: no reporter column, count or description is returned.
    SELECT r.id, r.target_type::text, r.reason::text, r.status::text, r.decision ->> 'action',
           (r.decision ->> 'automated')::boolean, r.decision ->> 'facts', r.decision ->> 'rule',
           r.decision ->> 'appeal', r.sanction_id, (r.decision ->> 'decided_at')::timestamptz
      FROM lp.reports AS r
     WHERE r.reported_user_id = p_user_id AND r.decision IS NOT NULL
     ORDER BY (r.decision ->> 'decided_at')::timestamptz DESC, r.id
     LIMIT p_limit
$$;
COMMENT ON FUNCTION lp.case_decisions_of(uuid, integer) IS 'Owner only: the decisions in this database''s cases about p_user_id, newest first, at most p_limit, without the reporters (api.my_case_decisions; shard.case_decisions_about for a user of another shard).';
REVOKE ALL ON FUNCTION lp.case_decisions_of(uuid, integer) FROM PUBLIC;
