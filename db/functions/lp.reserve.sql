CREATE FUNCTION lp.reserve(p_wallet_id uuid, p_amount bigint, p_wait boolean DEFAULT true) RETURNS boolean
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
    -- not cover it (lp.refuse_debit says why). Without p_wait (the billing job's top-up, lp.extend_hold: it must
    -- wait for no transaction of a viewer's, and a credit to a viewer who is a performer may be one) busy
    -- shards are not waited for: NULL, with nothing reserved, when the idle ones leave it short and a shard is
    -- busy (its tokens might cover it: the caller tries again later).
    PERFORM lp.expire_due_holds(ARRAY(SELECT h.id FROM lp.holds AS h
                                       WHERE h.wallet_id = p_wallet_id AND h.status = 'open'
                                         AND lp.hold_due(h)));
    IF (lp.move_main(ARRAY[p_wallet_id], ARRAY[0::bigint], ARRAY[p_amount], false))[1] IS NOT NULL THEN
        RETURN true;
    END IF;
    IF EXISTS (SELECT 1 FROM lp.wallets AS w WHERE w.id = p_wallet_id AND w.shard_count > 0) THEN
        FOR v_wait IN 0 .. 1 LOOP
            IF v_wait = 1 AND NOT p_wait THEN
                -- The idle shards are ours now (the sweep took them): any other is busy.
                IF (SELECT count(*) FROM lp.wallet_shards AS s WHERE s.wallet_id = p_wallet_id)
                   > (SELECT count(*) FROM (SELECT 1 FROM lp.wallet_shards AS s WHERE s.wallet_id = p_wallet_id
                                               FOR NO KEY UPDATE SKIP LOCKED) AS x) THEN
                    RETURN NULL;
                END IF;
                EXIT;
            END IF;
            IF lp.sweep_wallet(p_wallet_id, v_wait = 1) <> 0
               AND (lp.move_main(ARRAY[p_wallet_id], ARRAY[0::bigint], ARRAY[p_amount], false))[1] IS NOT NULL THEN
                RETURN true;
            END IF;
        END LOOP;
    END IF;
    RETURN false;
END
$$;
COMMENT ON FUNCTION lp.reserve(uuid, bigint, boolean) IS 'Owner only, inside the posting family: reserves p_amount more tokens on the main balance of user wallet p_wallet_id for a hold (lp.place_hold, lp.extend_hold), after expiring the wallet''s holds past their time and, when the main balance is short, sweeping its credit shards in (idle ones first, then waiting for busy ones; without p_wait NULL instead of waiting, nothing reserved). True when reserved; false with nothing reserved (the caller refuses or gives up). The caller holds the hold row; the wallet row and then its shards are taken here (docs/ledger.md, "Lock protocol").';
REVOKE ALL ON FUNCTION lp.reserve(uuid, bigint, boolean) FROM PUBLIC;
