CREATE FUNCTION lp.payouts_page(
    p_user_id       uuid,
    p_status        text,
    p_after_created timestamptz,
    p_after_id      uuid,
    p_limit         integer
) RETURNS SETOF lp.payouts
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor    uuid := lp.require_user();
    v_is_admin boolean := lp.current_user_role() IS NOT DISTINCT FROM 'admin';
    v_is_staff boolean := coalesce(lp.current_user_role() IN ('moderator', 'admin'), false);
    v_user     uuid := CASE WHEN v_is_admin THEN p_user_id ELSE coalesce(p_user_id, v_actor) END;
    v_after    timestamptz := p_after_created;
    v_payout   lp.payouts;
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
    IF p_after_id IS NOT NULL AND v_after IS NULL THEN
        -- A cursor id alone (api.list_payouts): its key is read here, among the payouts the caller may list.
        SELECT p.created_at INTO v_after FROM lp.payouts AS p
         WHERE p.id = p_after_id AND (v_is_admin OR p.user_id = v_actor);
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'unknown pagination cursor';
        END IF;
    END IF;
    -- Newest first; keyset pagination on (created_at, id): p_after_* is the last payout of the previous page (the
    -- router passes both for an admin's list of everyone's). Users see the reviewer as reviewed_by_label only.
    FOR v_payout IN
        SELECT p.* FROM lp.payouts AS p
         WHERE (v_user IS NULL OR p.user_id = v_user)
           AND (p_status IS NULL OR p.status = p_status::lp.payout_status)
           AND (p_after_id IS NULL OR (p.created_at, p.id) < (v_after, p_after_id))
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
COMMENT ON FUNCTION lp.payouts_page(uuid, text, timestamptz, uuid, integer) IS 'api.list_payouts''s page after the payout p_after_id, whose created_at is read here unless given (the router gives it: every shard''s page of an admin''s merged list of everyone''s): a user''s own, admins any user''s or everyone''s (p_user_id NULL); LP002 another user''s for non-admins, LP018 bad status, limit (1..1000) or unknown cursor; reviewed_by NULL unless the caller is staff.';
REVOKE ALL ON FUNCTION lp.payouts_page(uuid, text, timestamptz, uuid, integer) FROM PUBLIC;
