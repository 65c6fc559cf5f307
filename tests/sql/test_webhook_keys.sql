-- The payment webhooks (api.complete_payment, api.fail_payment, api.refund_payment, api.chargeback_payment:
-- livepanty_service only) record their idempotency keys in the back office's key space whoever it acts as
-- (lp.idempotency_slot): a provider's event id names one event of the provider, so a retry of the same webhook
-- answers the same whether it is sent with nobody acting or through api.act_as (any user). Before, the key was
-- kept per acting user: the same event retried the other way found no key and was refused by the payment's
-- state (LP004), or, for another payment, did the work under a second key. Payout processing's keys are the
-- back office's too (tests/sql/test_payout_webhook_keys.sql); the other transitions keep their keys per caller.
-- A chargeback of a refunded payment is refused (LP004: the money went back already), by design, and changes
-- nothing.
BEGIN;
SELECT plan(20);

-- Helpers of this file:
--   tests.service(username)   the back office (livepanty_service), through api.act_as(username) when one is
--                             given (audited auth.act_as), with nobody acting otherwise
--   tests.state()             what a refusal must leave unchanged: payments, ledger, keys, cases, sanctions, audit
--   tests.entries(payment)    the payment's ledger entries
CREATE FUNCTION tests.service(p_username text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    IF p_username IS NOT NULL THEN
        PERFORM api.act_as(tests.user_id(p_username), 'payment webhook');
    END IF;
    RETURN format('# the back office, acting as %s', coalesce(p_username, 'nobody'));
END
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(' / ',
        (SELECT string_agg(format('%s %s %s %s %s', p.id, p.status, p.recovered_tokens, p.debt_tokens, p.updated_at), ',' ORDER BY p.id) FROM lp.payments AS p),
        (SELECT count(*) FROM lp.ledger), (SELECT count(*) FROM lp.idempotency_keys),
        (SELECT count(*) FROM lp.reports), (SELECT count(*) FROM lp.user_sanctions),
        (SELECT count(*) FROM lp.audit_logs WHERE action <> 'auth.act_as'))
$$;
CREATE FUNCTION tests.entries(p_payment uuid) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.ledger AS e WHERE e.reference_id = p_payment
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('bob');
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('pam', 'performer');
    PERFORM tests.authenticate_as('vic');
    PERFORM tests.put(k, api.create_payment('small', 'stripe', 'buy-' || k)) FROM unnest(ARRAY['q1', 'q2', 'q3']) AS k;
    PERFORM tests.authenticate_as('bob');
    PERFORM tests.put('q4', api.create_payment('small', 'stripe', 'buy-q4'));
    PERFORM tests.clear_authentication();
END
$$;

-- == complete: through act_as, then retried with nobody acting (and the other way) ===========================
SELECT tests.service('vic');
SELECT tests.put('q1c', api.complete_payment(tests.pid('q1'), 'ch_q1', 'evt_complete_q1'));
SELECT tests.service(NULL);
SELECT is(to_jsonb(api.complete_payment(tests.pid('q1'), 'ch_q1', 'evt_complete_q1')), (SELECT value FROM tests.ctx WHERE key = 'q1c'),
          'complete_payment through act_as(vic), retried with nobody acting: the same answer');
SELECT tests.service('ada');
SELECT is(to_jsonb(api.complete_payment(tests.pid('q1'), 'ch_q1', 'evt_complete_q1')), (SELECT value FROM tests.ctx WHERE key = 'q1c'),
          '... and retried through act_as(ada): the same answer');
SELECT tests.clear_authentication();
SELECT is(tests.entries(tests.pid('q1')), 2::bigint, '... the tokens were credited once (one purchase transaction)');
SELECT is((SELECT count(*) FROM lp.idempotency_keys WHERE scope = 'payments.complete'), 1::bigint,
          '... one key recorded for the event');
SELECT ok((SELECT bool_and(key LIKE 'service:%') FROM lp.idempotency_keys WHERE scope = 'payments.complete'),
          '... in the back office''s key space');
SELECT tests.service(NULL);
SELECT tests.put('q2c', api.complete_payment(tests.pid('q2'), 'ch_q2', 'evt_complete_q2'));
SELECT tests.service('vic');
SELECT is(to_jsonb(api.complete_payment(tests.pid('q2'), 'ch_q2', 'evt_complete_q2')), (SELECT value FROM tests.ctx WHERE key = 'q2c'),
          'complete_payment with nobody acting, retried through act_as(vic): the same answer');
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.service('bob');
SELECT throws_ok(format('SELECT api.complete_payment(%L, %L, %L)', tests.pid('q4'), 'ch_q4', 'evt_complete_q1'), 'LP106', NULL,
                 'an event id already used for another payment is LP106 whoever the back office acts as');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and completes nothing');

-- == fail ====================================================================================================
SELECT tests.service('vic');
SELECT tests.put('q3f', api.fail_payment(tests.pid('q3'), 'card declined', 'evt_fail_q3'));
SELECT tests.service(NULL);
SELECT is(to_jsonb(api.fail_payment(tests.pid('q3'), 'card declined', 'evt_fail_q3')), (SELECT value FROM tests.ctx WHERE key = 'q3f'),
          'fail_payment through act_as(vic), retried with nobody acting: the same answer');

-- == refund ==================================================================================================
SELECT tests.service(NULL);
SELECT tests.put('q1r', api.refund_payment(tests.pid('q1'), 'customer request', 'evt_refund_q1'));
SELECT tests.service('vic');
SELECT is(to_jsonb(api.refund_payment(tests.pid('q1'), 'customer request', 'evt_refund_q1')), (SELECT value FROM tests.ctx WHERE key = 'q1r'),
          'refund_payment with nobody acting, retried through act_as(vic): the same answer');
SELECT tests.service('ada');
SELECT is(to_jsonb(api.refund_payment(tests.pid('q1'), 'customer request', 'evt_refund_q1')), (SELECT value FROM tests.ctx WHERE key = 'q1r'),
          '... and through act_as(ada): the same answer');
SELECT tests.clear_authentication();
SELECT is(tests.entries(tests.pid('q1')), 4::bigint, '... the tokens were taken back once');

-- == chargeback ==============================================================================================
SELECT tests.service('ada');
SELECT tests.put('q2cb', api.chargeback_payment(tests.pid('q2'), 'fraudulent', 'evt_dispute_q2'));
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.service(NULL);
SELECT is(to_jsonb(api.chargeback_payment(tests.pid('q2'), 'fraudulent', 'evt_dispute_q2')), (SELECT value FROM tests.ctx WHERE key = 'q2cb'),
          'chargeback_payment through act_as(ada), retried with nobody acting: the same answer');
SELECT tests.service('vic');
SELECT is(to_jsonb(api.chargeback_payment(tests.pid('q2'), 'fraudulent', 'evt_dispute_q2')), (SELECT value FROM tests.ctx WHERE key = 'q2cb'),
          '... and through act_as(vic): the same answer');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... the retries took nothing back twice, filed no second case event, issued no second sanction');
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action = 'payment.chargeback' AND target_id = tests.pid('q2')::text), 1::bigint,
          '... one payment.chargeback audit row');

-- == a chargeback after a refund: LP004 whoever acts, nothing changes ========================================
SELECT tests.snap();
SELECT tests.service(NULL);
SELECT throws_ok(format('SELECT api.chargeback_payment(%L, %L, %L)', tests.pid('q1'), 'fraudulent', 'evt_dispute_q1'), 'LP004', NULL,
                 'a refunded payment cannot be charged back (LP004): the money went back already');
SELECT tests.service('vic');
SELECT throws_ok(format('SELECT api.chargeback_payment(%L, %L, %L)', tests.pid('q1'), 'fraudulent', 'evt_dispute_q1'), 'LP004', NULL,
                 '... through act_as either (LP004)');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and the refusals change nothing: no clawback, no case, no sanction, no key, no audit row');

-- == every webhook key is the back office's ================================================================
SELECT is((SELECT string_agg(DISTINCT split_part(key, ':', 1), ',') FROM lp.idempotency_keys
            WHERE scope IN ('payments.complete', 'payments.fail', 'payments.refund', 'payments.chargeback')),
          'service', 'every webhook key is in the back office''s key space');

SELECT * FROM finish();
ROLLBACK;
