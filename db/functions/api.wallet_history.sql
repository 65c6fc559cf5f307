CREATE FUNCTION api.wallet_history(
    p_user_id   uuid DEFAULT NULL,
    p_before_id bigint DEFAULT NULL,
    p_limit     integer DEFAULT 50
)
RETURNS TABLE (
    id             bigint,
    transaction_id uuid,
    shard          smallint,
    amount         bigint,
    balance_before bigint,
    balance_after  bigint,
    entry_kind     text,
    reference_type text,
    reference_id   uuid,
    description    text,
    created_at     timestamptz
)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_actor  uuid := lp.require_user();
    v_target uuid := coalesce(p_user_id, v_actor);
    v_wallet uuid;
    v_shards smallint;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 500 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'limit must be between 1 and 500';
    END IF;
    IF p_before_id IS NOT NULL AND p_before_id < 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP018', MESSAGE = 'before_id must be a ledger entry id (positive)';
    END IF;
    IF v_target <> v_actor AND lp.current_user_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'wallet not found';
    END IF;
    SELECT w.id, w.shard_count INTO v_wallet, v_shards FROM lp.wallets AS w WHERE w.user_id = v_target;
    IF v_wallet IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'wallet not found';
    END IF;
    -- Keyset pagination over the wallet's accounts (main balance = shard 0, credit shards 1..n): each account's
    -- newest p_limit entries below p_before_id, read backwards on ledger_account_chain_idx (wallet_id, shard, id),
    -- merged by id. A page costs at most (shards + 1) * p_limit index entries whatever its depth, and entries
    -- appended meanwhile (higher ids) never shift the pages that follow.
    RETURN QUERY
    SELECT e.id, e.transaction_id, e.shard, e.amount, e.balance_before, e.balance_after, e.entry_kind,
           e.reference_type, e.reference_id, e.description, e.created_at
      FROM generate_series(0, v_shards) AS acct (shard)
     CROSS JOIN LATERAL (SELECT l.* FROM lp.ledger AS l
                          WHERE l.wallet_id = v_wallet AND l.shard = acct.shard
                            AND l.id < coalesce(p_before_id, 9223372036854775807)
                          ORDER BY l.id DESC
                          LIMIT p_limit) AS e
     ORDER BY e.id DESC
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.wallet_history(uuid, bigint, integer) IS 'Ledger entries of a user''s wallet (main balance and credit shards), newest first: the acting user''s own (default), or anyone''s for admins (LP003 otherwise). Keyset pagination: pass the smallest id of the previous page as p_before_id for the next page (never OFFSET; pages neither overlap nor skip while new entries arrive). p_limit 1..500 (LP018).';
REVOKE ALL ON FUNCTION api.wallet_history(uuid, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.wallet_history(uuid, bigint, integer) TO livepanty_app, livepanty_service;
