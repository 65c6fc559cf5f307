CREATE FUNCTION lp.business_days_after(p_from timestamptz, p_days integer) RETURNS timestamptz
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_at   timestamptz := p_from;
    v_left integer := greatest(coalesce(p_days, 0), 0);
BEGIN
    -- Business days are Monday to Friday in UTC: each step adds a day, Saturdays and Sundays add nothing.
    WHILE v_left > 0 LOOP
        v_at := v_at + interval '1 day';
        IF extract(isodow FROM v_at AT TIME ZONE 'UTC') < 6 THEN
            v_left := v_left - 1;
        END IF;
    END LOOP;
    RETURN v_at;
END
$$;
COMMENT ON FUNCTION lp.business_days_after(timestamptz, integer) IS 'Owner only: p_from plus p_days business days (Monday to Friday, UTC; a weekend day never counts). The SLA due time of a review case.';
REVOKE ALL ON FUNCTION lp.business_days_after(timestamptz, integer) FROM PUBLIC;
