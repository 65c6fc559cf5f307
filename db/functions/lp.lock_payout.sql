CREATE FUNCTION lp.lock_payout(
    p_payout_id uuid,
    p_from      text[],
    p_action    text,
    p_reviewer  uuid DEFAULT NULL,
    p_owner     uuid DEFAULT NULL
) RETURNS lp.payouts
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_payout lp.payouts;
BEGIN
    -- Step 1 of the lock protocol (docs/ledger.md): the business row, before any wallet. FOR NO KEY UPDATE: no
    -- transition changes the id, and the lock does not block foreign-key checks (FOR KEY SHARE) onto the row.
    SELECT p.* INTO v_payout FROM lp.payouts AS p WHERE p.id = p_payout_id FOR NO KEY UPDATE;
    -- p_owner: only that user's payout; another user's looks exactly like a missing one.
    IF v_payout.id IS NULL OR v_payout.user_id IS DISTINCT FROM coalesce(p_owner, v_payout.user_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'payout not found';
    END IF;
    IF v_payout.user_id = p_reviewer THEN
        RAISE EXCEPTION USING ERRCODE = 'LP002', MESSAGE = 'nobody may review their own payout';
    END IF;
    IF (v_payout.status::text = ANY (p_from)) IS NOT TRUE THEN
        RAISE EXCEPTION USING ERRCODE = 'LP004',
            MESSAGE = format('a payout in status %s cannot be %s', v_payout.status, p_action),
            DETAIL = format('only a payout in status %s can be %s', array_to_string(p_from, ' or '), p_action);
    END IF;
    RETURN v_payout;
END
$$;
COMMENT ON FUNCTION lp.lock_payout(uuid, text[], text, uuid, uuid) IS 'The first step of every payout transition: locks the payout row (FOR NO KEY UPDATE) and returns it; LP003 when it does not exist (or, with p_owner, belongs to another user), LP002 when it is p_reviewer''s own payout (approve, reject), LP004 when its status is not one of p_from (the message names the status and p_action, e.g. ''approved''; DETAIL the allowed states).';
REVOKE ALL ON FUNCTION lp.lock_payout(uuid, text[], text, uuid, uuid) FROM PUBLIC;
