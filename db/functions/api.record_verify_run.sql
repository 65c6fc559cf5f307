CREATE FUNCTION api.record_verify_run(
    p_started_at timestamptz,
    p_entries    bigint,
    p_violations integer,
    p_checks     text[] DEFAULT '{}'
) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_id uuid;
BEGIN
    IF p_started_at IS NULL OR p_started_at > now() OR p_started_at < now() - interval '7 days' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'started_at must be a time in the last 7 days',
            DETAIL = format('started_at: %s', coalesce(p_started_at::text, 'null'));
    END IF;
    IF p_entries IS NULL OR p_entries < 0 OR p_violations IS NULL OR p_violations < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'entries and violations must be counts (0 or more)';
    END IF;
    IF cardinality(p_checks) > 100 OR EXISTS (SELECT 1 FROM unnest(p_checks) AS c (name)
                                                WHERE c.name IS NULL OR c.name !~ '^[a-z_]{1,64}$') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018',
            MESSAGE = 'checks must be at most 100 check names (lower case letters and _, 1..64 characters)';
    END IF;
    IF p_checks IS NULL OR (p_violations = 0) <> (cardinality(p_checks) = 0) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018',
            MESSAGE = 'checks must name the failed checks when there are violations, and be empty otherwise';
    END IF;
    INSERT INTO lp.verify_runs (started_at, entries, violations, checks)
    VALUES (p_started_at, p_entries, p_violations,
            ARRAY(SELECT DISTINCT c.name FROM unnest(p_checks) AS c (name) ORDER BY c.name))
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION api.record_verify_run(timestamptz, bigint, integer, text[]) IS 'Back office (livepanty-db verify): records the outcome of a full ledger verification that started at p_started_at (in the last 7 days) and checked p_entries entries, finding p_violations violations of the checks named by p_checks (empty when none); monitoring.ledger_verification shows the latest. Returns the run''s id. LP018 malformed outcome.';
REVOKE ALL ON FUNCTION api.record_verify_run(timestamptz, bigint, integer, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.record_verify_run(timestamptz, bigint, integer, text[]) TO livepanty_service;
