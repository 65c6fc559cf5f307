CREATE FUNCTION lp.idempotency_slot(p_scope text, p_key text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
    -- One key space per caller: the acting user, or the back office when nobody acts. The payment webhooks and
    -- payout processing (the scopes listed here; their functions are granted to livepanty_service alone) are the
    -- back office's whoever it acts as: their key is the provider's event id or the processor's key for one
    -- step of a transfer, which names one event whether the back office calls with nobody acting or through
    -- api.act_as, so a retry must find it either way (kept per acting user, a retry the other way found no key
    -- and the payment's or payout's state refused it: LP004; for another payment or payout, it did the work
    -- again instead of LP106).
    -- tests/py/test_docs.py reads this list: docs/api.md documents these scopes as the back office's keys.
    -- The caller's key is stored hashed, so any key of up to 128 characters fits beside the prefix.
    SELECT CASE WHEN p_scope = ANY (ARRAY['payments.complete', 'payments.fail', 'payments.refund',
                                          'payments.chargeback', 'payouts.send', 'payouts.mark_paid',
                                          'payouts.mark_failed'])
                THEN 'service'
                ELSE coalesce(api.current_user_id()::text, 'service') END
           || ':' || encode(sha256(convert_to(p_key, 'UTF8')), 'hex')
$$;
COMMENT ON FUNCTION lp.idempotency_slot(text, text) IS 'Where a transition''s idempotency key is recorded: per caller (acting user id, or service), so one caller''s keys never collide with another''s; the scopes of the payment webhooks (payments.complete, payments.fail, payments.refund, payments.chargeback) and of payout processing (payouts.send, payouts.mark_paid, payouts.mark_failed), all service only, always in the back office''s (service), whoever it acts as, so a retry of the same event or transfer step answers the same with or without api.act_as.';
REVOKE ALL ON FUNCTION lp.idempotency_slot(text, text) FROM PUBLIC;
