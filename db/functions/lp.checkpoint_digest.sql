CREATE FUNCTION lp.checkpoint_digest(p_boundary timestamptz, OUT accounts integer, OUT sha256 text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- The seal of a checkpoint: sha256 over its boundary and its rows in (wallet, shard) order, then, when the
    -- boundary has any, the carry-forward rows of lp.payable_tokens in wallet order (none: the text is that of a
    -- checkpoint recorded before migration 0057, whose seal stays valid).
    SELECT count(*)::integer,
           encode(ext.digest(to_char(p_boundary AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || E'\n'
                             || coalesce(string_agg(format('%s/%s/%s/%s', c.wallet_id, c.shard, c.balance,
                                                           c.last_entry_id), E'\n' ORDER BY c.wallet_id, c.shard), '')
                             || coalesce((SELECT E'\nearnings\n'
                                                 || string_agg(format('%s/%s/%s/%s', e.wallet_id, e.earned, e.spent,
                                                                      e.refunded), E'\n' ORDER BY e.wallet_id)
                                            FROM lp.earnings_checkpoints AS e
                                           WHERE e.boundary = p_boundary), ''),
                             'sha256'), 'hex')
      FROM lp.ledger_checkpoints AS c
     WHERE c.boundary = p_boundary
$$;
COMMENT ON FUNCTION lp.checkpoint_digest(timestamptz) IS 'Owner only: the number of accounts in the checkpoint at p_boundary and its seal, sha256 over the boundary and every row (wallet/shard/balance/last entry id) in wallet, shard order, followed by the carry-forward of lp.payable_tokens at the boundary (lp.earnings_checkpoints: wallet/earned/spent/refunded in wallet order) when it has rows.';
REVOKE ALL ON FUNCTION lp.checkpoint_digest(timestamptz) FROM PUBLIC;
