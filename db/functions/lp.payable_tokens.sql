CREATE FUNCTION lp.payable_tokens(p_wallet_id uuid) RETURNS bigint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- available (main balance + credit shards - reserved) minus the earnings (positive tip and hold_capture
    -- entries, on the main balance or a shard) credited within the last payouts.hold_days days, never below 0.
    -- Sweeps (entry kind sweep) move earnings from a shard to the main balance and are not earnings, so
    -- nothing is counted twice. Returned payouts (payout_return) are not new earnings either.
    SELECT greatest(0::bigint,
                    w.balance - w.reserved
                    + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)::bigint
                    - coalesce((SELECT sum(l.amount) FROM lp.ledger AS l
                                 WHERE l.wallet_id = w.id
                                   AND l.entry_kind IN ('tip', 'hold_capture')
                                   AND l.amount > 0
                                   AND l.created_at > now() - make_interval(days => (lp.setting('payouts.hold_days'))::integer)),
                               0)::bigint)
      FROM lp.wallets AS w
     WHERE w.id = p_wallet_id
$$;
COMMENT ON FUNCTION lp.payable_tokens(uuid) IS 'Tokens of a wallet that a payout may take now: its available balance (main balance + credit shards - reserved) minus the earnings (tip and hold_capture credits) received within the last payouts.hold_days days, at least 0. api.request_payout sweeps the shards first and holds the wallet row locked while it checks.';
REVOKE ALL ON FUNCTION lp.payable_tokens(uuid) FROM PUBLIC;
