CREATE FUNCTION lp.reserve(p_wallet_id uuid, p_amount bigint) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- Reserves p_amount more on a user wallet's main balance (lp.move_main; no token moves, no entry), for a
    -- hold placed (lp.place_hold) or topped up (lp.extend_hold), with what a debit of lp.post would count as
    -- available: holds of the wallet past their time give their tokens back first (hold rows SKIP LOCKED, then
    -- the wallet row: the order of lp.lock_hold), and when the main balance is short the credit shards are
    -- swept in, the idle ones, then, still short, every one, waiting for the credits in flight (the main row,
    -- then the shards in their order: docs/ledger.md, step 3). False, with nothing reserved, when even that does
    -- not cover it (lp.refuse_debit says why).
    PERFORM lp.expire_due_holds(ARRAY(SELECT h.id FROM lp.holds AS h
                                       WHERE h.wallet_id = p_wallet_id AND h.status = 'open'
                                         AND lp.hold_due(h)));
    IF (lp.move_main(ARRAY[p_wallet_id], ARRAY[0::bigint], ARRAY[p_amount], false))[1] IS NOT NULL THEN
        RETURN true;
    END IF;
    IF EXISTS (SELECT 1 FROM lp.wallets AS w WHERE w.id = p_wallet_id AND w.shard_count > 0) THEN
        FOR v_wait IN 0 .. 1 LOOP
            IF lp.sweep_wallet(p_wallet_id, v_wait = 1) <> 0
               AND (lp.move_main(ARRAY[p_wallet_id], ARRAY[0::bigint], ARRAY[p_amount], false))[1] IS NOT NULL THEN
                RETURN true;
            END IF;
        END LOOP;
    END IF;
    RETURN false;
END
$$;
COMMENT ON FUNCTION lp.reserve(uuid, bigint) IS 'Owner only, inside the posting family: reserves p_amount more tokens on the main balance of user wallet p_wallet_id for a hold (lp.place_hold, lp.extend_hold), after expiring the wallet''s holds past their time and, when the main balance is short, sweeping its credit shards in (idle ones first, then waiting for busy ones). True when reserved; false with nothing reserved (the caller refuses or gives up). The caller holds the hold row; the wallet row and then its shards are taken here (docs/ledger.md, "Lock protocol").';
REVOKE ALL ON FUNCTION lp.reserve(uuid, bigint) FROM PUBLIC;
