CREATE FUNCTION lp.refuse_old_transaction() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- A ledger entry is dated by its transaction's start (created_at DEFAULT now()): the payout hold period,
    -- spending limits, balance_at and the monthly partitions all read that date. A transaction kept open for
    -- long (a login of the application's can hold one open for days with pg_sleep) would date its money
    -- movements in the past: tips received in it would count as earnings matured long ago, payable at once, and
    -- its entries could fall into a month already closed. lp.post and lp.post_batch call this only when the
    -- transaction is more than a second old (the common case reads no setting).
    IF statement_timestamp() - now() > make_interval(secs => (lp.setting('ledger.max_transaction_seconds'))::integer) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP205', MESSAGE = 'the transaction is too old to move tokens',
            DETAIL = format('begun %s s ago; ledger.max_transaction_seconds is %s',
                            floor(extract(epoch FROM statement_timestamp() - now())),
                            lp.setting('ledger.max_transaction_seconds')),
            HINT = 'Move tokens in short transactions: roll back and retry in a new one (with the same idempotency key).';
    END IF;
END
$$;
COMMENT ON FUNCTION lp.refuse_old_transaction() IS 'Owner only: LP205 when the transaction began more than ledger.max_transaction_seconds ago (a ledger entry is dated by its transaction''s start, and the hold period, limits and partitions read that date); called by lp.post and lp.post_batch once the transaction is more than a second old. Changes nothing.';
REVOKE ALL ON FUNCTION lp.refuse_old_transaction() FROM PUBLIC;
