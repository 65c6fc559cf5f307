CREATE FUNCTION api.ledger_totals()
RETURNS TABLE (issued bigint, burned bigint, circulating bigint, in_user_wallets bigint, in_system_wallets bigint,
               imbalance bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, ext, pg_temp
    SET jit = off  -- compiling the big chunk queries costs more than it saves
AS $$
DECLARE
    v_issuance uuid;
BEGIN
    PERFORM lp.verify_authorize();
    v_issuance := lp.system_wallet('issuance');
    RETURN QUERY
    WITH flows AS (
        -- While ledger partitions are archived, the entries before the boundary are in the archive files: the
        -- issuance wallet's net outflow up to the boundary comes from the sealed checkpoint and counts as issued.
        SELECT coalesce(-sum(l.amount) FILTER (WHERE l.amount < 0), 0)::bigint
               - coalesce((SELECT sum(c.balance) FROM lp.ledger_checkpoints AS c
                            WHERE c.boundary = lp.archive_boundary() AND c.wallet_id = v_issuance), 0)::bigint
                   AS out_of_issuance,
               coalesce(sum(l.amount) FILTER (WHERE l.amount > 0), 0)::bigint AS into_issuance
          FROM lp.ledger AS l WHERE l.wallet_id = v_issuance
    ), held AS (
        SELECT coalesce(sum(a.bal) FILTER (WHERE w.kind = 'user'), 0)::bigint AS users,
               coalesce(sum(a.bal) FILTER (WHERE w.kind = 'system' AND w.id <> v_issuance), 0)::bigint AS systems
          FROM (SELECT mw.id AS w_id, mw.balance AS bal FROM lp.wallets AS mw
                UNION ALL
                SELECT s.wallet_id, s.balance FROM lp.wallet_shards AS s) AS a
          JOIN lp.wallets AS w ON w.id = a.w_id
    )
    SELECT f.out_of_issuance, f.into_issuance, f.out_of_issuance - f.into_issuance, h.users, h.systems,
           f.out_of_issuance - f.into_issuance - h.users - h.systems
      FROM flows AS f, held AS h;
END
$$;
COMMENT ON FUNCTION api.ledger_totals() IS 'Token totals for reports and `livepanty-db verify` (one row): issued (tokens that left the issuance wallet: purchases), burned (tokens that went back to it: refunds, chargebacks, paid payouts), circulating = issued - burned, in_user_wallets and in_system_wallets (every other system wallet: fees, payout clearing, chargeback losses, adjustments; main balances and shards) and imbalance = circulating - in_user_wallets - in_system_wallets, 0 on a sound ledger. While ledger partitions are archived, issued and burned count the entries since the archive boundary, and the issuance wallet''s net outflow before it (its balance in the sealed checkpoint) is counted as issued, so circulating and imbalance stay exact. The livepanty_service role, or an acting admin (LP001 / LP002 otherwise).';
REVOKE ALL ON FUNCTION api.ledger_totals() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.ledger_totals() TO livepanty_app, livepanty_service;
