-- api.earnings_summary: a performer's tips and hold captures received (count, gross, fees, net) and payouts paid
-- over a period, and now: balance, payable, in hold period, in payout clearing. Own or admin. Payable follows
-- lp.payable_tokens: earnings older than payouts.hold_days minus what payouts took, at most the available balance;
-- bought tokens never.
BEGIN;
SELECT plan(35);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   20_money.sql:    tests.wallet

-- Helpers of this file.
-- A fully captured hold of p_amount from a holder to a payee, written directly (as api.capture_hold would) p_age
-- ago: the hold, its capture, and the ledger transaction (holder -amount, payee +(amount - fee), fee wallet +fee).
-- The ledger is append-only (its triggers refuse UPDATE), so its entries are dated back with the triggers
-- switched off for that statement only (session_replication_role, as in test_spending_limits).
CREATE FUNCTION tests.captured_hold(p_holder text, p_payee text, p_amount bigint, p_fee bigint,
                                    p_age interval DEFAULT interval '0') RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_hold uuid;
    v_tx   uuid := gen_random_uuid();
    v_at   timestamptz := now() - p_age;
BEGIN
    INSERT INTO lp.holds (user_id, wallet_id, payee_id, purpose, amount, captured, status, expires_at, closed_at,
                          idempotency_key, created_at)
    VALUES (tests.user_id(p_holder), tests.wallet(p_holder), tests.user_id(p_payee), 'private_show', p_amount, p_amount,
            'captured', v_at + interval '1 hour', v_at, 'hold-' || p_amount, v_at)
    RETURNING id INTO v_hold;
    INSERT INTO lp.hold_captures (hold_id, amount, fee_amount, transaction_id, idempotency_key, created_at)
    VALUES (v_hold, p_amount, p_fee, v_tx, 'capture-1', v_at);
    PERFORM lp.post(v_tx, 'hold', v_hold,
                    ARRAY[ROW(tests.wallet(p_holder), -p_amount, 'hold_capture', 0, false)::lp.posting,
                          ROW(tests.wallet(p_payee), p_amount - p_fee, 'hold_capture', 0, false)::lp.posting,
                          ROW(lp.system_wallet('platform_fees'), p_fee, 'hold_fee', 0, false)::lp.posting]);
    PERFORM set_config('session_replication_role', 'replica', true);
    UPDATE lp.ledger AS e SET created_at = v_at WHERE e.transaction_id = v_tx;
    PERFORM set_config('session_replication_role', 'origin', true);
    RETURN v_hold;
END
$$;
CREATE FUNCTION tests.payout_id(p_key text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT p.id FROM lp.payouts AS p WHERE p.idempotency_key = p_key
$$;
-- Returns a TAP comment, so that a top-level SELECT prints nothing but TAP.
CREATE FUNCTION tests.set_hold_days(p_days integer) RETURNS text
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.settings SET value = to_jsonb(p_days) WHERE key = 'payouts.hold_days';
    SELECT format('# payouts.hold_days = %s', p_days)
$$;
-- The columns of a summary, for results_eq.
CREATE FUNCTION tests.summary_sql(p_args text DEFAULT '') RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT format('SELECT tips_count, tips_gross, tips_fees, tips_net, captures_count, captures_gross, captures_fees, captures_net,
                          balance, payable, in_hold, in_clearing, paid_out FROM api.earnings_summary(%s)', p_args)
$$;

-- pia: a performer with an approved identity verification who bought 10000 tokens; vic paid her a 15000-token
-- private show 8 days ago (fee 3000: pia +12000) and tips her 1000, 2501 and (anonymously) 999 tokens now (fees
-- 20 %, rounded down: 200, 500, 199: pia +3601); pete, another performer, gets a tip that is not pia's; pam, a
-- third performer, is who pia tips later.
DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('pete', 'performer');
    PERFORM tests.create_user('pam', 'performer');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    INSERT INTO lp.kyc_verifications (user_id, level, status, reviewed_at) VALUES (tests.user_id('pia'), 'identity', 'approved', now());
    PERFORM tests.fund('vic', 100000);
    PERFORM tests.fund('pia', 10000);
    PERFORM tests.captured_hold('vic', 'pia', 15000, 3000, interval '8 days');
    PERFORM tests.set_hold_days(7);
END
$$;
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 1000, ''t1'')', tests.user_id('pia')), 'setup: vic tips pia 1000');
SELECT lives_ok(format('SELECT api.tip(%L, 2501, ''t2'')', tests.user_id('pia')), 'setup: vic tips pia 2501');
SELECT lives_ok(format('SELECT api.tip(%L, 999, ''t3'', NULL, NULL, true)', tests.user_id('pia')), 'setup: vic tips pia 999 anonymously');
SELECT lives_ok(format('SELECT api.tip(%L, 5000, ''t4'')', tests.user_id('pete')), 'setup: vic tips pete 5000');

-- == the performer's own summary ===========================================================================
SELECT tests.authenticate_as('pia');
SELECT results_eq(tests.summary_sql(),
                  $$VALUES (3::bigint, 4500::bigint, 899::bigint, 3601::bigint, 1::bigint, 15000::bigint, 3000::bigint, 12000::bigint,
                            25601::bigint, 12000::bigint, 3601::bigint, 0::bigint, 0::bigint)$$,
                  'earnings_summary: tips 3 / 4500 gross / 899 fees / 3601 net, captures 1 / 15000 / 3000 / 12000; balance 25601, '
                  'payable 12000 (the capture of 8 days ago), in hold 3601 (this week''s tips); the 10000 bought tokens are neither');
SELECT results_eq('SELECT user_id, period_from, period_to, currency, tokens_per_unit FROM api.earnings_summary()',
                  format($$VALUES (%L::uuid, NULL::timestamptz, NULL::timestamptz, 'USD', 100)$$, tests.user_id('pia')),
                  'earnings_summary: whose, which period (open), currency and rate');

SELECT tests.set_hold_days(0);
SELECT results_eq('SELECT balance, payable, in_hold FROM api.earnings_summary()', $$VALUES (25601::bigint, 15601::bigint, 0::bigint)$$,
                  'earnings_summary: with payouts.hold_days 0 every earning is payable (15601), nothing in hold; '
                  'the 10000 bought tokens still not');
SELECT throws_ok($$SELECT api.request_payout(15602, 'paypal', 'p0')$$, 'LP112', NULL,
                 'request_payout: one token more than the summary''s payable is LP112');

-- payouts: 8000 requested, approved and paid; then 5000 requested
SELECT lives_ok($$SELECT api.request_payout(8000, 'paypal', 'p1')$$, 'setup: pia requests a payout of 8000');
SELECT results_eq('SELECT balance, payable, in_clearing, paid_out FROM api.earnings_summary()',
                  $$VALUES (17601::bigint, 7601::bigint, 8000::bigint, 0::bigint)$$,
                  'earnings_summary: a requested payout is in clearing, no longer in the balance, and taken from payable');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format('SELECT api.approve_payout(%L, ''a1'')', tests.payout_id('p1')),
                'setup: adam approves it');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format('SELECT api.mark_payout_paid(%L, ''bank-1'', ''m1'')', tests.payout_id('p1')),
                'setup: the service marks it paid');
SELECT tests.authenticate_as('pia');
SELECT results_eq('SELECT balance, payable, in_clearing, paid_out FROM api.earnings_summary()',
                  $$VALUES (17601::bigint, 7601::bigint, 0::bigint, 8000::bigint)$$,
                  'earnings_summary: a paid payout stays taken from payable (15601 earned - 8000 paid)');
SELECT lives_ok($$SELECT api.request_payout(5000, 'paypal', 'p2')$$, 'setup: pia requests another 5000');
SELECT results_eq(tests.summary_sql(),
                  $$VALUES (3::bigint, 4500::bigint, 899::bigint, 3601::bigint, 1::bigint, 15000::bigint, 3000::bigint, 12000::bigint,
                            12601::bigint, 2601::bigint, 0::bigint, 5000::bigint, 8000::bigint)$$,
                  'earnings_summary: 8000 paid out, 5000 in clearing, 12601 left of which 2601 payable');

-- == periods ===============================================================================================
SELECT results_eq(tests.summary_sql($$NULL, now() - interval '30 days', now() + interval '1 hour'$$),
                  $$VALUES (3::bigint, 4500::bigint, 899::bigint, 3601::bigint, 1::bigint, 15000::bigint, 3000::bigint, 12000::bigint,
                            12601::bigint, 2601::bigint, 0::bigint, 5000::bigint, 8000::bigint)$$,
                  'earnings_summary: a period over the last 30 days counts everything');
SELECT results_eq(tests.summary_sql($$NULL, now() - interval '1 hour', now() + interval '1 hour'$$),
                  $$VALUES (3::bigint, 4500::bigint, 899::bigint, 3601::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint,
                            12601::bigint, 2601::bigint, 0::bigint, 5000::bigint, 8000::bigint)$$,
                  'earnings_summary: a period around now counts the tips and the payment, not the capture of 8 days ago');
SELECT results_eq(tests.summary_sql($$NULL, now() + interval '1 second'$$),
                  $$VALUES (0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint,
                            12601::bigint, 2601::bigint, 0::bigint, 5000::bigint, 0::bigint)$$,
                  'earnings_summary: a period that starts later counts no tips, captures or payments; the balances are now');
SELECT results_eq(tests.summary_sql($$NULL, now() - interval '1 day', now()$$),
                  $$VALUES (0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint,
                            12601::bigint, 2601::bigint, 0::bigint, 5000::bigint, 0::bigint)$$,
                  'earnings_summary: the end of the period is exclusive');
SELECT results_eq($$SELECT period_from, period_to FROM api.earnings_summary(NULL, now() - interval '1 day', now())$$,
                  $$VALUES (now() - interval '1 day', now())$$, 'earnings_summary: echoes the period');
SELECT throws_ok($$SELECT * FROM api.earnings_summary(NULL, now(), now() - interval '1 second')$$, 'LP018', NULL,
                 'earnings_summary: a period that ends before it starts is LP018');

-- == a cancelled payout gives its tokens back; spending lowers payable through the available balance =========
SELECT lives_ok(format('SELECT api.cancel_payout(%L, ''c2'')', tests.payout_id('p2')), 'setup: pia cancels the 5000 payout');
SELECT results_eq('SELECT balance, payable, in_clearing, paid_out FROM api.earnings_summary()',
                  $$VALUES (17601::bigint, 7601::bigint, 0::bigint, 8000::bigint)$$,
                  'earnings_summary: a cancelled payout gives its tokens back to the balance and to payable');
SELECT lives_ok(format('SELECT api.tip(%L, 5000, ''spend-1'')', tests.user_id('pam')), 'setup: pia tips pam 5000');
SELECT results_eq('SELECT balance, payable, tips_count FROM api.earnings_summary()',
                  $$VALUES (12601::bigint, 2601::bigint, 3::bigint)$$,
                  'earnings_summary: spending consumes earnings first: 5000 spent of 7601 unpaid earnings leaves 2601 payable; '
                  'tips sent are not tips received');
SELECT lives_ok(format('SELECT api.tip(%L, 10000, ''spend-2'')', tests.user_id('pam')), 'setup: pia tips pam another 10000');
SELECT results_eq('SELECT balance, payable, in_hold FROM api.earnings_summary()',
                  $$VALUES (2601::bigint, 0::bigint, 0::bigint)$$,
                  'earnings_summary: with every earning spent, the 2601 left (bought tokens) are not payable');

-- a refunded tip is no longer an earning
SELECT tests.clear_authentication();
UPDATE lp.tips SET status = 'refunded' WHERE recipient_id = tests.user_id('pia') AND amount = 999;
SELECT tests.authenticate_as('pia');
SELECT results_eq('SELECT tips_count, tips_gross, tips_fees, tips_net FROM api.earnings_summary()',
                  $$VALUES (2::bigint, 3501::bigint, 700::bigint, 2801::bigint)$$, 'earnings_summary: refunded tips are not counted');

-- == who may read it =======================================================================================
SELECT tests.authenticate_as('adam');
SELECT results_eq(format('SELECT user_id, tips_count, paid_out FROM api.earnings_summary(%L)', tests.user_id('pia')),
                  format('VALUES (%L::uuid, 2::bigint, 8000::bigint)', tests.user_id('pia')), 'earnings_summary: an admin reads any user''s');
SELECT throws_ok(format('SELECT * FROM api.earnings_summary(%L)', gen_random_uuid()), 'LP003', NULL,
                 'earnings_summary: an unknown user is LP003 (admin)');
SELECT tests.authenticate_as('pete');
SELECT throws_ok(format('SELECT * FROM api.earnings_summary(%L)', tests.user_id('pia')), 'LP002', NULL,
                 'earnings_summary: another performer''s is LP002');
SELECT results_eq('SELECT tips_count, tips_gross, tips_net, balance FROM api.earnings_summary()',
                  $$VALUES (1::bigint, 5000::bigint, 4000::bigint, 4000::bigint)$$, 'earnings_summary: pete sees only his own tip');
SELECT tests.authenticate_as('mona');
SELECT throws_ok(format('SELECT * FROM api.earnings_summary(%L)', tests.user_id('pia')), 'LP002', NULL,
                 'earnings_summary: a moderator reading another user''s is LP002');
SELECT tests.authenticate_as('vic');
SELECT results_eq(tests.summary_sql(),
                  $$VALUES (0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint,
                            75500::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint)$$,
                  'earnings_summary: a viewer''s own: no earnings (tips sent and shows paid are not received), '
                  'and bought tokens are never payable');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok('SELECT * FROM api.earnings_summary()', 'LP001', NULL, 'earnings_summary: nobody acting is LP001');

SELECT tests.clear_authentication();
SELECT * FROM finish();
ROLLBACK;
