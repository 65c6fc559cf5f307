CREATE FUNCTION lp.refuse_old_transaction(p_what text DEFAULT 'move tokens') RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- A ledger entry is dated by its transaction's start (created_at DEFAULT now()): the payout hold period,
    -- spending limits, balance_at and the monthly partitions all read that date. A transaction kept open for
    -- long (a login of the application's can hold one open for days with pg_sleep) would date its money
    -- movements in the past: tips received in it would count as earnings matured long ago, payable at once, and
    -- its entries could fall into a month already closed. lp.post and lp.post_batch call this only when the
    -- transaction is more than a second old (the common case reads no setting). api.set_spending_limit too,
    -- before a loosening whose cooling-off counts from the transaction's start.
    IF statement_timestamp() - now() > make_interval(secs => (lp.setting('ledger.max_transaction_seconds'))::integer) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP205', MESSAGE = format('the transaction is too old to %s', p_what),
            DETAIL = format('begun %s s ago; ledger.max_transaction_seconds is %s',
                            floor(extract(epoch FROM statement_timestamp() - now())),
                            lp.setting('ledger.max_transaction_seconds')),
            HINT = 'Use short transactions: roll back and retry in a new one (money calls with the same idempotency key).';
    END IF;
END
$$;
COMMENT ON FUNCTION lp.refuse_old_transaction(text) IS 'Owner only: LP205 when the transaction began more than ledger.max_transaction_seconds ago (a ledger entry is dated by its transaction''s start, and the hold period, limits and partitions read that date); called by lp.post and lp.post_batch, and by api.set_spending_limit before it starts the cooling-off of a loosening (which counts from the transaction''s start), once the transaction is more than a second old; p_what names what is refused. Changes nothing.';
REVOKE ALL ON FUNCTION lp.refuse_old_transaction(text) FROM PUBLIC;
