CREATE FUNCTION api.sweep_viewers(p_limit integer DEFAULT 1000) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_closed integer;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 100000';
    END IF;
    v_closed := lp.close_stale_viewers(NULL, p_limit);
    PERFORM lp.end_ungated_streams();
    PERFORM lp.refresh_listed_viewers();
    RETURN v_closed;
END
$$;
COMMENT ON FUNCTION api.sweep_viewers(integer) IS 'Back office job (livepanty-db jobs sweep-viewers): closes up to p_limit viewing sessions whose last heartbeat is older than streams.viewer_timeout_seconds (each ends at its last heartbeat and leaves the viewer counters), skipping sessions locked right now; several workers may run it at once. Then ends every live stream whose cast no longer passes the go-live gate (an identity verification that expired, a sanction that came into force: lp.end_ungated_streams, audited stream.end by gate), and copies each live stream''s viewer count to the listings'' order (lp.refresh_listed_viewers). Returns how many sessions it closed. LP018 p_limit outside 1..100000.';
REVOKE ALL ON FUNCTION api.sweep_viewers(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.sweep_viewers(integer) TO livepanty_service;
