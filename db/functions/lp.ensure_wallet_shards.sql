CREATE FUNCTION lp.ensure_wallet_shards(p_wallet_id uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_wanted integer;
BEGIN
    -- Performers receive tips from many viewers at once: their credits spread over shards. Other users'
    -- wallets keep one account. Shards are never removed (a demoted performer keeps them; sweeps empty them).
    SELECT CASE WHEN u.role = 'performer' THEN (lp.setting('wallets.performer_shards'))::integer ELSE 0 END
      INTO v_wanted
      FROM lp.wallets AS w JOIN lp.users AS u ON u.id = w.user_id
     WHERE w.id = p_wallet_id;
    IF v_wanted IS NULL OR v_wanted = 0 THEN
        RETURN;
    END IF;
    UPDATE lp.wallets AS w SET shard_count = greatest(w.shard_count, v_wanted)
     WHERE w.id = p_wallet_id AND w.shard_count < v_wanted;
    INSERT INTO lp.wallet_shards (wallet_id, shard)
    SELECT p_wallet_id, s FROM generate_series(1, v_wanted) AS s
    ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION lp.ensure_wallet_shards(uuid) IS 'Gives a performer''s wallet its credit shards (wallets.performer_shards); a no-op for other users and for wallets that have them.';
REVOKE ALL ON FUNCTION lp.ensure_wallet_shards(uuid) FROM PUBLIC;
