CREATE FUNCTION api.detector_precision()
    RETURNS TABLE (detector text, confirmed integer, dismissed integer, precision_ratio numeric)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    PERFORM lp.require_user('moderator', 'admin');
    RETURN QUERY SELECT p.detector, p.confirmed, p.dismissed, p.precision_ratio
                   FROM lp.detector_precision() AS p ORDER BY p.detector;
END
$$;
COMMENT ON FUNCTION api.detector_precision() IS 'Moderators and admins: per detector, how many of its flags moderators confirmed and dismissed by resolving their cases, and its precision (confirmed / decided). LP002 other roles.';
REVOKE ALL ON FUNCTION api.detector_precision() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.detector_precision() TO livepanty_app, livepanty_service;
