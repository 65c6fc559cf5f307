CREATE FUNCTION api.list_payments(
    p_user_id uuid DEFAULT NULL,
    p_status  text DEFAULT NULL,
    p_after   uuid DEFAULT NULL,
    p_limit   integer DEFAULT 50
) RETURNS SETOF lp.payments
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user          uuid := lp.require_user();
    v_admin         boolean := lp.current_user_role() = 'admin';
    v_for           uuid := p_user_id;
    v_after_created timestamptz;
BEGIN
    IF v_for IS NULL AND NOT v_admin THEN
        v_for := v_user;
    END IF;
    IF v_for <> v_user AND NOT v_admin THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'only admins list other users'' payments';
    END IF;
    IF p_status IS NOT NULL THEN
        PERFORM lp.check_choice(p_status, 'lp.payment_status', 'payment status');
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 1000';
    END IF;
    IF p_after IS NOT NULL THEN
        SELECT p.created_at INTO v_after_created FROM lp.payments AS p
         WHERE p.id = p_after AND (v_admin OR p.user_id = v_user);
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'unknown pagination cursor';
        END IF;
    END IF;
    -- Keyset pagination on (created_at, id), newest first: pass the last id of a page as p_after for the next.
    RETURN QUERY
        SELECT p.* FROM lp.payments AS p
         WHERE (v_for IS NULL OR p.user_id = v_for)
           AND (p_status IS NULL OR p.status = p_status::lp.payment_status)
           AND (p_after IS NULL OR (p.created_at, p.id) < (v_after_created, p_after))
         ORDER BY p.created_at DESC, p.id DESC
         LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.list_payments(uuid, text, uuid, integer) IS 'Payments, newest first: a user''s own (p_user_id NULL or their own id; another user''s: LP002), admins any user''s or everyone''s (p_user_id NULL). Optional status filter (LP018 unknown status). Keyset pagination: p_after = last id of the previous page (LP018 unknown cursor), p_limit 1..1000.';
REVOKE ALL ON FUNCTION api.list_payments(uuid, text, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_payments(uuid, text, uuid, integer) TO livepanty_app, livepanty_service;
