CREATE FUNCTION lp.uncount_spend(p_user_id uuid, p_kind text, p_tokens bigint) RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- Takes back what lp.count_spend counted in this transaction for a spend that turned out to be a replay
    -- (its idempotency key was claimed by a concurrent call that committed first): the counter row is this
    -- transaction's since that call, and its hour and day are this transaction's.
    -- A hold (p_kind hold) was counted as a tip.
    UPDATE lp.spend_counters AS f
       SET tips_in_hour        = f.tips_in_hour - CASE WHEN p_kind = 'purchase' THEN 0 ELSE 1 END,
           tip_tokens_day      = f.tip_tokens_day - CASE WHEN p_kind = 'purchase' THEN 0 ELSE p_tokens END,
           purchases_in_hour   = f.purchases_in_hour - CASE WHEN p_kind = 'purchase' THEN 1 ELSE 0 END,
           purchase_tokens_day = f.purchase_tokens_day - CASE WHEN p_kind = 'purchase' THEN p_tokens ELSE 0 END
     WHERE f.user_id = p_user_id
$$;
COMMENT ON FUNCTION lp.uncount_spend(uuid, text, bigint) IS 'Owner only: undoes, in the caller''s transaction, the count of one tip, hold or purchase (p_kind) of p_tokens that lp.count_spend made in it, for a call that found its idempotency key claimed by a concurrent call and replays it.';
REVOKE ALL ON FUNCTION lp.uncount_spend(uuid, text, bigint) FROM PUBLIC;
