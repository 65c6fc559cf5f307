CREATE FUNCTION api.list_payouts(
    p_user_id uuid DEFAULT NULL,
    p_status  text DEFAULT NULL,
    p_after   uuid DEFAULT NULL,
    p_limit   integer DEFAULT 50
) RETURNS SETOF lp.payouts
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT * FROM lp.payouts_page(p_user_id, p_status, NULL, p_after, p_limit);
END
$$;
COMMENT ON FUNCTION api.list_payouts(uuid, text, uuid, integer) IS 'Payouts, newest first, optionally of one status: the acting user''s own; admins any user''s (p_user_id) or everyone''s (p_user_id NULL), e.g. the requested ones awaiting review. LP002 another user''s (non-admins), LP018 bad status, limit (1..1000) or cursor. Keyset pagination: p_after = last id of the previous page. reviewed_by is NULL unless the caller is staff (reviewed_by_label names the reviewer).';
REVOKE ALL ON FUNCTION api.list_payouts(uuid, text, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.list_payouts(uuid, text, uuid, integer) TO livepanty_app, livepanty_service;
