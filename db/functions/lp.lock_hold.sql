CREATE FUNCTION lp.lock_hold(p_hold_id uuid) RETURNS lp.holds
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_hold lp.holds;
BEGIN
    -- Lock order of everything that touches a hold (docs/ledger.md: lp.post locks wallet rows in id order):
    --   1. the hold row (FOR UPDATE here; lp.expire_due_holds and api.expire_holds take theirs with SKIP
    --      LOCKED, so they never wait for a hold);
    --   2. then the holder's wallet row (lp.close_hold, or lp.post for a capture, which also takes the payee's
    --      and the fee wallet's shards under its own order).
    -- A capture and a release (or an expiry) of the same hold therefore queue on the hold row, and the second
    -- sees the first one's result; no function locks a wallet row and then waits for a hold, so no cycle.
    SELECT h.* INTO v_hold FROM lp.holds AS h WHERE h.id = p_hold_id FOR UPDATE;
    IF lp.hold_due(v_hold) THEN
        -- Lazy expiry: a hold past its time is released the moment anything touches it (judged at the start
        -- of this statement, so also in a transaction opened before the expiry; a show's unsettled
        -- reservation never is: lp.hold_due).
        v_hold := lp.close_hold(v_hold.id, 'expired');
    END IF;
    RETURN v_hold;
END
$$;
COMMENT ON FUNCTION lp.lock_hold(uuid) IS 'Locks a hold row (FOR UPDATE) and, when it is due (lp.hold_due: open past expires_at at the start of the statement, not placed by this transaction, not an unsettled show reservation), expires it (lp.close_hold) first. Returns the hold as it now stands (NULL fields when it does not exist). The first lock of every hold operation: hold row, then wallet row.';
REVOKE ALL ON FUNCTION lp.lock_hold(uuid) FROM PUBLIC;
