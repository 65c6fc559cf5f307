CREATE FUNCTION api.list_erasures(
    p_after uuid DEFAULT NULL,
    p_limit integer DEFAULT 1000
) RETURNS SETOF lp.erasures
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_limit must be between 1 and 100000';
    END IF;
    RETURN QUERY SELECT e.* FROM lp.erasures AS e WHERE p_after IS NULL OR e.id > p_after ORDER BY e.id LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_erasures(uuid, integer) IS 'Back office (livepanty-db privacy export-erasures): the erasure log in id order, a page of p_limit rows after p_after. Export it to a place backups do not overwrite, to re-apply it after a restore (api.replay_erasure). It holds ids, dates, counts and reasons, never an erased value. LP018 p_limit outside 1..100000.';
REVOKE ALL ON FUNCTION api.list_erasures(uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_erasures(uuid, integer) TO livepanty_service;
