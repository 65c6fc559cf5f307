CREATE FUNCTION lp.expire_due_holds(p_hold_ids uuid[]) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_ids uuid[];
    v_id  uuid;
BEGIN
    -- Lock every due hold of the list that nobody else holds (SKIP LOCKED: a hold being captured or released
    -- right now is that transaction's business, and waiting for it here could only slow us down), then close
    -- them in wallet-id order so that wallet rows are taken in the global order of docs/ledger.md.
    SELECT coalesce(array_agg(d.id ORDER BY d.wallet_id, d.id), ARRAY[]::uuid[]) INTO v_ids
      FROM (SELECT h.id, h.wallet_id FROM lp.holds AS h
             WHERE h.id = ANY (p_hold_ids) AND h.status = 'open' AND lp.hold_due(h)
               FOR UPDATE SKIP LOCKED) AS d;
    FOREACH v_id IN ARRAY v_ids LOOP
        PERFORM lp.close_hold(v_id, 'expired');
    END LOOP;
    RETURN cardinality(v_ids);
END
$$;
COMMENT ON FUNCTION lp.expire_due_holds(uuid[]) IS 'Expires those of the given holds that are due (lp.hold_due) and not locked by another transaction (SKIP LOCKED); returns how many. Used before a new hold checks the holder''s available balance and by api.expire_holds.';
REVOKE ALL ON FUNCTION lp.expire_due_holds(uuid[]) FROM PUBLIC;
