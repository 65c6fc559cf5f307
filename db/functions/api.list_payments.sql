CREATE FUNCTION api.list_payments(
    p_user_id uuid DEFAULT NULL,
    p_status  text DEFAULT NULL,
    p_after   uuid DEFAULT NULL,
    p_limit   integer DEFAULT 50
) RETURNS SETOF lp.payments
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM lp.payments_page(p_user_id, p_status, NULL, p_after, p_limit);
END
$$;
COMMENT ON FUNCTION api.list_payments(uuid, text, uuid, integer) IS 'Payments, newest first: a user''s own (p_user_id NULL or their own id; another user''s: LP002), admins any user''s or everyone''s (p_user_id NULL). Optional status filter (LP018 unknown status). Keyset pagination: p_after = last id of the previous page (LP018 unknown cursor), p_limit 1..1000.';
REVOKE ALL ON FUNCTION api.list_payments(uuid, text, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_payments(uuid, text, uuid, integer) TO livepanty_app, livepanty_service;
