CREATE FUNCTION lp.lock_spend_counter(p_user_id uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
BEGIN
    -- The lock protocol's first business row of a user's money (docs/ledger.md, step 1): a payment's completion,
    -- refund or chargeback takes the buyer's spend counter before the payment row and the wallets, as a tip
    -- (lp.count_spend) and a purchase take it before theirs. Made when missing.
    PERFORM lp.ensure_spend_counter(p_user_id);
    PERFORM 1 FROM lp.spend_counters AS f WHERE f.user_id = p_user_id FOR NO KEY UPDATE;
END
$$;
COMMENT ON FUNCTION lp.lock_spend_counter(uuid) IS 'Owner only: locks the user''s lp.spend_counters row (made when missing), the first lock of any money operation of that user that writes the counters after its wallets (api.complete_payment, api.refund_payment, api.chargeback_payment; api.refund_show those of its viewers), so they and the user''s tips (lp.count_spend) take counter, payment, wallets in one order.';
REVOKE ALL ON FUNCTION lp.lock_spend_counter(uuid) FROM PUBLIC;
