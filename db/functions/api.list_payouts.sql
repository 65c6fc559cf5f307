CREATE FUNCTION api.list_payouts(
    p_user_id uuid DEFAULT NULL,
    p_status  text DEFAULT NULL,
    p_after   uuid DEFAULT NULL,
    p_limit   integer DEFAULT 50
) RETURNS SETOF lp.payouts
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor         uuid := lp.require_user();
    v_is_admin      boolean := lp.current_user_role() = 'admin';
    v_is_staff      boolean := lp.current_user_role() IN ('moderator', 'admin');
    v_user          uuid := CASE WHEN v_is_admin THEN p_user_id ELSE coalesce(p_user_id, v_actor) END;
    v_after_created timestamptz;
    v_payout        lp.payouts;
BEGIN
    IF NOT v_is_admin AND v_user <> v_actor THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins list another user''s payouts';
    END IF;
    IF p_status IS NOT NULL THEN
        PERFORM lp.check_choice(p_status, 'lp.payout_status', 'payout status');
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 1000';
    END IF;
    IF p_after IS NOT NULL THEN
        SELECT p.created_at INTO v_after_created FROM lp.payouts AS p
         WHERE p.id = p_after AND (v_is_admin OR p.user_id = v_actor);
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'unknown pagination cursor';
        END IF;
    END IF;
    -- Newest first; keyset pagination on (created_at, id). Users see the reviewer as reviewed_by_label only.
    FOR v_payout IN
        SELECT p.* FROM lp.payouts AS p
         WHERE (v_user IS NULL OR p.user_id = v_user)
           AND (p_status IS NULL OR p.status = p_status::lp.payout_status)
           AND (p_after IS NULL OR (p.created_at, p.id) < (v_after_created, p_after))
         ORDER BY p.created_at DESC, p.id DESC
         LIMIT p_limit
    LOOP
        IF NOT v_is_staff THEN
            v_payout.reviewed_by := NULL;
        END IF;
        RETURN NEXT v_payout;
    END LOOP;
END
$$;
COMMENT ON FUNCTION api.list_payouts(uuid, text, uuid, integer) IS 'Payouts, newest first, optionally of one status: the acting user''s own; admins any user''s (p_user_id) or everyone''s (p_user_id NULL), e.g. the requested ones awaiting review. LP002 another user''s (non-admins), LP018 bad status, limit (1..1000) or cursor. Keyset pagination: p_after = last id of the previous page. reviewed_by is NULL unless the caller is staff (reviewed_by_label names the reviewer).';
REVOKE ALL ON FUNCTION api.list_payouts(uuid, text, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_payouts(uuid, text, uuid, integer) TO livepanty_app, livepanty_service;
