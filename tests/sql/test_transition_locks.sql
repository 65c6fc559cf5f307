-- The lock-and-load helpers of the payment and payout state machines (lp.lock_payment, lp.lock_payout): the row
-- returned, LP003 for an unknown id (and, with p_owner, another user's payout), LP002 for a reviewer's own payout
-- (before the state check), LP004 naming the status and the action with the allowed states in DETAIL; and every
-- api transition that uses them refuses an unknown id (LP003) and a wrong state (LP004) without changing anything.
-- The lock mode (FOR NO KEY UPDATE) is checked with two connections in tests/py/test_transition_locks.py.
BEGIN;
SELECT plan(36);

-- Helpers of this file.
--   tests.error_of(sql)   'SQLSTATE | message | detail' of the error the statement raises (NULL if none)
--   tests.state()         everything a transition may write (payments, payouts, keys, ledger, audit), as md5
CREATE FUNCTION tests.error_of(p_sql text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_state   text;
    v_message text;
    v_detail  text;
BEGIN
    EXECUTE p_sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
    RETURN concat_ws(' | ', v_state, v_message, nullif(v_detail, ''));
END
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(p::text, ';' ORDER BY p.id) FROM lp.payments AS p),
        (SELECT string_agg(p::text, ';' ORDER BY p.id) FROM lp.payouts AS p),
        (SELECT string_agg(k::text, ';' ORDER BY k.scope, k.key) FROM lp.idempotency_keys AS k),
        (SELECT count(*) FROM lp.ledger),
        (SELECT count(*) FROM lp.audit_logs)))
$$;
CREATE TABLE tests.before (state text);
GRANT ALL ON tests.before TO PUBLIC;

DO $$
DECLARE
    v_kyc uuid;
BEGIN
    PERFORM tests.create_user('bea');                -- a buyer
    PERFORM tests.create_user('pia', 'performer');   -- a performer with payouts
    PERFORM tests.create_user('ada', 'admin');
    INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, document_front_url,
                                      reviewed_at)
    VALUES (tests.user_id('pia'), 'identity', 'approved', 'passport', 'DE', 's3://kyc-docs/pia.jpg', now())
    RETURNING id INTO v_kyc;
    -- Rows in each state, written directly (no token moves in these tests: every transition tried is refused).
    INSERT INTO lp.payments (user_id, provider, provider_reference, tokens, amount_minor, status, completed_at,
                             idempotency_key)
    VALUES (tests.user_id('bea'), 'stripe', NULL, 500, 499, 'pending', NULL, 'pay-pending'),
           (tests.user_id('bea'), 'stripe', 'ch_done', 500, 499, 'completed', now(), 'pay-completed'),
           (tests.user_id('bea'), 'stripe', NULL, 500, 499, 'failed', NULL, 'pay-failed');
    INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, method, status,
                            paid_at, idempotency_key)
    VALUES (tests.user_id('pia'), v_kyc, 5000, 100, 5000, 'paypal', 'requested', NULL, 'po-requested'),
           (tests.user_id('pia'), v_kyc, 5000, 100, 5000, 'paypal', 'paid', now(), 'po-paid');
    PERFORM tests.remember('nothing', gen_random_uuid());
END
$$;
CREATE FUNCTION tests.payment(p_key text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT p.id FROM lp.payments AS p WHERE p.idempotency_key = p_key
$$;
CREATE FUNCTION tests.payout(p_key text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT p.id FROM lp.payouts AS p WHERE p.idempotency_key = p_key
$$;

-- == lp.lock_payment =======================================================================================
SELECT is((lp.lock_payment(tests.payment('pay-pending'), ARRAY['pending'], 'completed')).id, tests.payment('pay-pending'),
          'lock_payment: returns the payment when its status is allowed');
SELECT is((lp.lock_payment(tests.payment('pay-completed'), ARRAY['completed'], 'refunded')).provider_reference, 'ch_done',
          'lock_payment: the whole row');
SELECT is(tests.error_of(format($$SELECT lp.lock_payment(%L, ARRAY['pending'], 'completed')$$, tests.id('nothing'))),
          'LP003 | payment not found', 'lock_payment: an unknown payment is LP003');
SELECT is(tests.error_of(format($$SELECT lp.lock_payment(%L, ARRAY['pending'], 'completed')$$, tests.payment('pay-completed'))),
          'LP004 | a payment in status completed cannot be completed | only a payment in status pending can be completed',
          'lock_payment: a status not allowed is LP004, naming the status and the action; DETAIL the allowed states');
SELECT is(tests.error_of(format($$SELECT lp.lock_payment(%L, ARRAY['completed', 'failed'], 'refunded')$$, tests.payment('pay-pending'))),
          'LP004 | a payment in status pending cannot be refunded | only a payment in status completed or failed can be refunded',
          'lock_payment: several allowed states are listed');
SELECT is(left(tests.error_of(format($$SELECT lp.lock_payment(%L, NULL, 'completed')$$, tests.payment('pay-pending'))), 5),
          'LP004', 'lock_payment: no allowed state (NULL) refuses');

-- == lp.lock_payout ========================================================================================
SELECT is((lp.lock_payout(tests.payout('po-requested'), ARRAY['requested'], 'approved', p_reviewer => tests.user_id('ada'))).id,
          tests.payout('po-requested'), 'lock_payout: returns the payout (another user reviewing it)');
SELECT is((lp.lock_payout(tests.payout('po-requested'), ARRAY['requested'], 'cancelled', p_owner => tests.user_id('pia'))).tokens,
          5000::bigint, 'lock_payout: returns the payout to its owner');
SELECT is(tests.error_of(format($$SELECT lp.lock_payout(%L, ARRAY['requested'], 'approved')$$, tests.id('nothing'))),
          'LP003 | payout not found', 'lock_payout: an unknown payout is LP003');
SELECT is(tests.error_of(format($$SELECT lp.lock_payout(%L, ARRAY['requested'], 'cancelled', p_owner => %L)$$,
                                tests.payout('po-requested'), tests.user_id('bea'))),
          'LP003 | payout not found', 'lock_payout: another user''s payout with p_owner is LP003, exactly like a missing one');
SELECT is(tests.error_of(format($$SELECT lp.lock_payout(%L, ARRAY['requested'], 'approved', p_reviewer => %L)$$,
                                tests.payout('po-requested'), tests.user_id('pia'))),
          'LP002 | nobody may review their own payout', 'lock_payout: the reviewer''s own payout is LP002');
SELECT is(left(tests.error_of(format($$SELECT lp.lock_payout(%L, ARRAY['requested'], 'approved', p_reviewer => %L)$$,
                                     tests.payout('po-paid'), tests.user_id('pia'))), 5),
          'LP002', 'lock_payout: own payout comes before the state (LP002, not LP004)');
SELECT is(tests.error_of(format($$SELECT lp.lock_payout(%L, ARRAY['requested', 'approved'], 'rejected')$$, tests.payout('po-paid'))),
          'LP004 | a payout in status paid cannot be rejected | only a payout in status requested or approved can be rejected',
          'lock_payout: a status not allowed is LP004, naming the status and the action; DETAIL the allowed states');

-- == every transition: unknown id LP003, wrong state LP004, nothing changed ===============================
INSERT INTO tests.before SELECT tests.state();
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok(format('SELECT api.%s(%L, %L, %L)', f, id, arg, 'k-' || f || '-' || code), code, NULL,
                 format('%s: %s is %s', f, why, code))
  FROM (VALUES ('complete_payment', tests.id('nothing'), 'ch_1', 'LP003', 'an unknown payment'),
               ('complete_payment', tests.payment('pay-failed'), 'ch_1', 'LP004', 'a failed payment'),
               ('fail_payment', tests.id('nothing'), 'declined', 'LP003', 'an unknown payment'),
               ('fail_payment', tests.payment('pay-completed'), 'declined', 'LP004', 'a completed payment'),
               ('refund_payment', tests.id('nothing'), 'asked', 'LP003', 'an unknown payment'),
               ('refund_payment', tests.payment('pay-pending'), 'asked', 'LP004', 'a pending payment'),
               ('chargeback_payment', tests.id('nothing'), 'dispute', 'LP003', 'an unknown payment'),
               ('chargeback_payment', tests.payment('pay-failed'), 'dispute', 'LP004', 'a failed payment'),
               ('mark_payout_paid', tests.id('nothing'), 'bank-1', 'LP003', 'an unknown payout'),
               ('mark_payout_paid', tests.payout('po-requested'), 'bank-1', 'LP004', 'a requested payout'),
               ('mark_payout_failed', tests.id('nothing'), 'bounced', 'LP003', 'an unknown payout'),
               ('mark_payout_failed', tests.payout('po-paid'), 'bounced', 'LP004', 'a paid payout'))
       AS v (f, id, arg, code, why);
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.approve_payout(%L, %L)', tests.id('nothing'), 'a-1'), 'LP003', NULL,
                 'approve_payout: an unknown payout is LP003');
SELECT throws_ok(format('SELECT api.approve_payout(%L, %L)', tests.payout('po-paid'), 'a-2'), 'LP004', NULL,
                 'approve_payout: a paid payout is LP004');
SELECT throws_ok(format('SELECT api.reject_payout(%L, %L, %L)', tests.id('nothing'), 'no', 'r-1'), 'LP003', NULL,
                 'reject_payout: an unknown payout is LP003');
SELECT throws_ok(format('SELECT api.reject_payout(%L, %L, %L)', tests.payout('po-paid'), 'no', 'r-2'), 'LP004', NULL,
                 'reject_payout: a paid payout is LP004');
SELECT tests.authenticate_as('pia');
SELECT throws_ok(format('SELECT api.cancel_payout(%L, %L)', tests.id('nothing'), 'c-1'), 'LP003', NULL,
                 'cancel_payout: an unknown payout is LP003');
SELECT throws_ok(format('SELECT api.cancel_payout(%L, %L)', tests.payout('po-paid'), 'c-2'), 'LP004', NULL,
                 'cancel_payout: a paid payout is LP004');
SELECT tests.authenticate_as('bea');
SELECT throws_ok(format('SELECT api.cancel_payout(%L, %L)', tests.payout('po-requested'), 'c-3'), 'LP003', NULL,
                 'cancel_payout: another user''s payout is LP003');
SELECT tests.clear_authentication();
UPDATE lp.users SET role = 'admin' WHERE id = tests.user_id('pia');
SELECT tests.authenticate_as('pia');
SELECT throws_ok(format('SELECT api.approve_payout(%L, %L)', tests.payout('po-paid'), 'a-own'), 'LP002', NULL,
                 'approve_payout: an admin''s own payout is LP002 even in a wrong state');
SELECT throws_ok(format('SELECT api.reject_payout(%L, %L, %L)', tests.payout('po-paid'), 'mine', 'r-own'), 'LP002', NULL,
                 'reject_payout: an admin''s own payout is LP002 even in a wrong state');
SELECT tests.clear_authentication();
UPDATE lp.users SET role = 'performer' WHERE id = tests.user_id('pia');
SELECT is(tests.state(), (SELECT b.state FROM tests.before AS b),
          'the refused transitions changed nothing (payments, payouts, idempotency keys, ledger, audit)');
SELECT results_eq($$SELECT status::text FROM lp.payments ORDER BY idempotency_key$$,
                  $$VALUES ('completed'), ('failed'), ('pending')$$, 'every payment is still in its state');

SELECT * FROM finish();
ROLLBACK;
