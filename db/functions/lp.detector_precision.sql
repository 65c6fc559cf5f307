CREATE FUNCTION lp.detector_precision()
    RETURNS TABLE (detector text, confirmed integer, dismissed integer, precision_ratio numeric)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- Precision of each detector: of its flags a moderator decided (confirmed or dismissed by resolving the
    -- case), the share confirmed. Flags ignored below threshold or still pending do not count.
    SELECT f.detector,
           count(*) FILTER (WHERE f.status = 'confirmed')::integer,
           count(*) FILTER (WHERE f.status = 'dismissed')::integer,
           round(count(*) FILTER (WHERE f.status = 'confirmed')::numeric / count(*), 4)
      FROM lp.moderation_flags AS f
     WHERE f.reviewed_by IS NOT NULL AND f.status IN ('confirmed', 'dismissed')
     GROUP BY f.detector
$$;
COMMENT ON FUNCTION lp.detector_precision() IS 'Owner only: per detector, the flags moderators confirmed and dismissed and the precision (confirmed / decided, 4 decimals).';
REVOKE ALL ON FUNCTION lp.detector_precision() FROM PUBLIC;
