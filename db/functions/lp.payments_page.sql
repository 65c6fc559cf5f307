CREATE FUNCTION lp.payments_page(
    p_user_id       uuid,
    p_status        text,
    p_after_created timestamptz,
    p_after_id      uuid,
    p_limit         integer
) RETURNS SETOF lp.payments
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user  uuid := lp.require_user();
    v_admin boolean := lp.current_user_role() IS NOT DISTINCT FROM 'admin';
    v_for   uuid := p_user_id;
    v_after timestamptz := p_after_created;
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
    IF p_after_id IS NOT NULL AND v_after IS NULL THEN
        -- A cursor id alone (api.list_payments): its key is read here, among the payments the caller may list.
        SELECT p.created_at INTO v_after FROM lp.payments AS p
         WHERE p.id = p_after_id AND (v_admin OR p.user_id = v_user);
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'unknown pagination cursor';
        END IF;
    END IF;
    -- Keyset pagination on (created_at, id), newest first: p_after_* is the last payment of the previous page
    -- (the router passes both for an admin's list of everyone's: the cursor may live on another shard).
    RETURN QUERY
        SELECT p.* FROM lp.payments AS p
         WHERE (v_for IS NULL OR p.user_id = v_for)
           AND (p_status IS NULL OR p.status = p_status::lp.payment_status)
           AND (p_after_id IS NULL OR (p.created_at, p.id) < (v_after, p_after_id))
         ORDER BY p.created_at DESC, p.id DESC
         LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION lp.payments_page(uuid, text, timestamptz, uuid, integer) IS 'api.list_payments''s page after the payment p_after_id, whose created_at is read here unless given (the router gives it: every shard''s page of an admin''s merged list of everyone''s): a user''s own, admins any user''s or everyone''s (p_user_id NULL); LP002 another user''s for non-admins, LP018 bad status, limit (1..1000) or unknown cursor.';
REVOKE ALL ON FUNCTION lp.payments_page(uuid, text, timestamptz, uuid, integer) FROM PUBLIC;
