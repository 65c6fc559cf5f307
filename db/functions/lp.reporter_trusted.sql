CREATE FUNCTION lp.reporter_trusted(p_reporter_id uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_dismissed integer;
    v_decided   integer;
BEGIN
    -- Reporter reputation: over the reporter's filings on cases decided in the last reports.reputation_days,
    -- at least reports.reputation_min_dismissed dismissed and a dismissed share of at least
    -- reports.reputation_dismissed_percent (of the decided ones) make the reporter deprioritised (not trusted).
    SELECT count(*) FILTER (WHERE r.status = 'dismissed')::integer, count(*)::integer
      INTO v_dismissed, v_decided
      FROM lp.report_filings AS f JOIN lp.reports AS r ON r.id = f.case_id
     WHERE f.reporter_id = p_reporter_id AND r.status IN ('resolved', 'dismissed')
       AND r.resolved_at > now() - make_interval(days => (lp.setting('reports.reputation_days'))::integer);
    RETURN NOT (v_dismissed >= (lp.setting('reports.reputation_min_dismissed'))::integer
                AND v_dismissed * 100 >= v_decided * (lp.setting('reports.reputation_dismissed_percent'))::integer);
END
$$;
COMMENT ON FUNCTION lp.reporter_trusted(uuid) IS 'Owner only: false when the reporter has many dismissed reports (reports.reputation_min_dismissed and reports.reputation_dismissed_percent over reports.reputation_days): their new filings count but do not raise a case''s priority.';
REVOKE ALL ON FUNCTION lp.reporter_trusted(uuid) FROM PUBLIC;
