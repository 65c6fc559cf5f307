CREATE FUNCTION api.list_holds(
    p_as     text DEFAULT 'holder',
    p_status text DEFAULT NULL,
    p_after  uuid DEFAULT NULL,
    p_limit  integer DEFAULT 50
) RETURNS SETOF lp.holds
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user          uuid := lp.require_user();
    v_after_created timestamptz;
BEGIN
    IF p_as IS NULL OR p_as NOT IN ('holder', 'payee') THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'p_as must be holder or payee';
    END IF;
    IF p_status IS NOT NULL THEN
        PERFORM lp.check_choice(p_status, 'lp.hold_status', 'hold status');
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 1000';
    END IF;
    IF p_after IS NOT NULL THEN
        SELECT h.created_at INTO v_after_created FROM lp.holds AS h
         WHERE h.id = p_after AND ((p_as = 'holder' AND h.user_id = v_user) OR (p_as = 'payee' AND h.payee_id = v_user));
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'unknown pagination cursor';
        END IF;
    END IF;
    -- Lazy expiry: the listed holds that are past their time are released first (those another transaction
    -- holds right now are skipped, and show as open until it is done).
    PERFORM lp.expire_due_holds(ARRAY(
        SELECT h.id FROM lp.holds AS h
         WHERE ((p_as = 'holder' AND h.user_id = v_user) OR (p_as = 'payee' AND h.payee_id = v_user))
           AND h.status = 'open' AND lp.hold_due(h)));
    -- Keyset pagination on (created_at, id), newest first: pass the last id of a page as p_after.
    RETURN QUERY
        SELECT h.*
          FROM lp.holds AS h
         WHERE ((p_as = 'holder' AND h.user_id = v_user) OR (p_as = 'payee' AND h.payee_id = v_user))
           AND (p_status IS NULL OR h.status = p_status::lp.hold_status)
           AND (p_after IS NULL OR (h.created_at, h.id) < (v_after_created, p_after))
         ORDER BY h.created_at DESC, h.id DESC
         LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_holds(text, text, uuid, integer) IS 'The acting user''s holds, as holder (default) or as payee, optionally of one status, newest first; keyset pagination (p_after = last id of the previous page, p_limit 1..1000). Holds past their time are expired on the way. LP001 nobody acting, LP018 bad argument or cursor.';
REVOKE ALL ON FUNCTION api.list_holds(text, text, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_holds(text, text, uuid, integer) TO livepanty_app, livepanty_service;
