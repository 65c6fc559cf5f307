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
    SELECT w.id INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = v_target;
    IF v_wallet IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP003', MESSAGE = 'wallet not found';
    END IF;
    -- Keyset pagination on ledger_wallet_history_idx (wallet_id, id), read backwards from (wallet, p_before_id):
    -- a page costs p_limit index entries whatever its depth, and entries appended meanwhile (higher ids) never
    -- shift the pages that follow. The wallet is matched as a closed range (>= and <=) rather than with = on
    -- purpose: with =, the planner drops wallet_id from the sort order and may prefer walking ledger_pkey
    -- backwards filtering on wallet_id (the whole ledger for a quiet wallet); the range keeps (wallet_id, id)
    -- the only index that yields the order.
    RETURN QUERY
    SELECT l.id, l.transaction_id, l.shard, l.amount, l.balance_before, l.balance_after, l.entry_kind,
           l.reference_type, l.reference_id, l.description, l.created_at
      FROM lp.ledger AS l
     WHERE l.wallet_id >= v_wallet AND l.wallet_id <= v_wallet
       AND l.id < coalesce(p_before_id, 9223372036854775807)
     ORDER BY l.wallet_id DESC, l.id DESC
     LIMIT p_limit;
END
$$;
COMMENT ON FUNCTION api.wallet_history(uuid, bigint, integer) IS 'Ledger entries of a user''s wallet (main balance and credit shards), newest first: the acting user''s own (default), or anyone''s for admins (LP003 otherwise). Keyset pagination: pass the smallest id of the previous page as p_before_id for the next page (never OFFSET; pages neither overlap nor skip while new entries arrive). p_limit 1..500 (LP018).';
REVOKE ALL ON FUNCTION api.wallet_history(uuid, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.wallet_history(uuid, bigint, integer) TO livepanty_app, livepanty_service;
