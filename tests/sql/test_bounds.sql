-- Bounds on what the api accepts (issue 6, point 5): every amount of tokens at most money.max_tokens (LP103)
-- so that nothing overflows bigint arithmetic further down (22003), bundle prices at most
-- money.max_price_minor, the bcrypt work factor at least 10 through api.set_setting (LP092), and
-- api.login's device_info at most 4 KiB (LP018). Each refusal changes nothing. tests/py/test_bounds.py calls
-- every api function with extreme integers, from the catalog.
BEGIN;
SELECT plan(59);

-- Shared helpers (tests/sql/helpers/*.sql): tests.create_user, tests.user_id, tests.authenticate_as,
-- tests.clear_authentication, tests.put/get, tests.wallet_state, tests.sound.
-- This file's: tests.state(), what tests.snap() / tests.unchanged(description) compare: wallets, shards,
-- ledger, holds, captures, tips, payments, bundles, adjustments, spending limits, sessions, settings and the audit log.
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(format('%s %s %s %s', w.id, w.balance, w.reserved, w.debt_since), ',' ORDER BY w.id) FROM lp.wallets AS w),
        (SELECT string_agg(format('%s %s %s', s.wallet_id, s.shard, s.balance), ',' ORDER BY s.wallet_id, s.shard) FROM lp.wallet_shards AS s),
        (SELECT count(*) FROM lp.ledger),
        (SELECT string_agg(to_jsonb(h)::text, ',' ORDER BY h.id) FROM lp.holds AS h),
        (SELECT count(*) FROM lp.hold_captures),
        (SELECT count(*) FROM lp.tips),
        (SELECT string_agg(to_jsonb(p)::text, ',' ORDER BY p.id) FROM lp.payments AS p),
        (SELECT string_agg(to_jsonb(b)::text, ',' ORDER BY b.code) FROM lp.token_bundles AS b),
        (SELECT count(*) FROM lp.adjustments),
        (SELECT string_agg(to_jsonb(l)::text, ',' ORDER BY l.user_id, l.period) FROM lp.spending_limits AS l),
        (SELECT count(*) FROM lp.payouts),
        (SELECT count(*) FROM lp.auth_sessions),
        (SELECT string_agg(to_jsonb(s)::text, ',' ORDER BY s.key) FROM lp.settings AS s),
        (SELECT count(*) FROM lp.audit_logs)))
$$;

-- == Fixture ===============================================================================================
-- ada: admin; vic: viewer with 100000 tokens, a daily limit of 50000 and an open hold of 10 for pam;
-- pam: performer.
DO $$
BEGIN
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('pam', 'performer');
    PERFORM lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                    ARRAY[ROW(lp.system_wallet('issuance'), -100000, 'purchase', 0, false)::lp.posting,
                          ROW(tests.wallet('vic'), 100000, 'purchase', 0, false)::lp.posting]);
    INSERT INTO lp.spending_limits (user_id, period, limit_tokens) VALUES (tests.user_id('vic'), 'daily', 50000);
END
$$;
SELECT tests.authenticate_as('vic');
SELECT tests.put('h10', api.place_hold(tests.user_id('pam'), 10, 'h-10'));
SELECT tests.clear_authentication();

SELECT results_eq($$SELECT key, value FROM lp.settings WHERE key ~ '^money\.' ORDER BY key$$,
                  $$VALUES ('money.max_price_minor', '10000000000'::jsonb), ('money.max_tokens', '10000000000'::jsonb)$$,
                  'the bounds and their defaults: 10^10 tokens (100 million USD), 10^10 minor units');

-- == The four reported paths ===============================================================================
-- (1) api.adjust_balance(+-(2^63-1)): accepted before (and then the adjustments wallet or the next posting
--     overflowed).
SELECT tests.snap();
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, %s, ''r'', %L)', tests.user_id('vic'), a, 'adj-' || a), 'LP103', NULL,
                 format('adjust_balance(%s) is LP103', a))
  FROM unnest(ARRAY[9223372036854775807, -9223372036854775807, -9223372036854775808, 4611686018427387904,
                    10000000001, -10000000001]) AS a;
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and changed nothing (no adjustment, no ledger entry, no audit row)');

-- (2) api.place_hold with a spending limit and a huge amount: the limit check summed the reserved tokens
--     (2^63-1 + the open hold of 10) into a bigint: 22003.
SELECT tests.snap();
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format('SELECT api.place_hold(%L, %s, %L)', tests.user_id('pam'), a, 'h-' || a), 'LP103', NULL,
                 format('place_hold(%s) with a spending limit is LP103', a))
  FROM unnest(ARRAY[9223372036854775807, 4611686018427387904, 10000000001]) AS a;
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and changed nothing (no hold, nothing reserved)');

-- (3) api.capture_hold of 5*10^15 tokens: lp.fee_for multiplied it by the fee (2000 bps): 22003. Such a hold
--     can no longer be placed; here it is one placed before the bound (the setting raised by the superuser
--     for the setup, then back to its default).
UPDATE lp.settings SET value = '10000000000000000' WHERE key = 'money.max_tokens';
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.adjust_balance(%L, 5000000000000000, ''setup'', ''adj-big'')', tests.user_id('vic')),
                'setup: vic gets 5*10^15 tokens while the bound is raised');
SELECT tests.clear_authentication();
DELETE FROM lp.spending_limits WHERE user_id = tests.user_id('vic');  -- setup: no limit in the way
SELECT tests.authenticate_as('vic');
SELECT tests.put('big', api.place_hold(tests.user_id('pam'), 5000000000000000, 'h-big'));
SELECT tests.clear_authentication();
UPDATE lp.settings SET value = '10000000000' WHERE key = 'money.max_tokens';
SELECT is(tests.get('big', 'amount'), '5000000000000000', 'setup: an open hold of 5*10^15 tokens');
SELECT tests.snap();
SELECT tests.authenticate_as('pam');
SELECT throws_ok(format('SELECT api.capture_hold(%L, 5000000000000000, ''c-big'')', tests.pid('big')), 'LP103', NULL,
                 'capture_hold(5*10^15) is LP103');
SELECT throws_ok(format('SELECT api.capture_hold(%L, 9223372036854775807, ''c-max'')', tests.pid('big')), 'LP103', NULL,
                 'capture_hold(2^63-1) is LP103');
SELECT lives_ok(format('SELECT api.capture_hold(%L, 10000000000, ''c-ok'')', tests.pid('big')),
                'capture_hold(money.max_tokens) of that hold is accepted (fee 2*10^9)');
SELECT tests.clear_authentication();
SELECT is((SELECT fee_amount FROM lp.hold_captures WHERE idempotency_key = 'c-ok'), 2000000000::bigint,
          'the accepted capture paid floor(10^10 * 2000 / 10000) in fees');
SELECT ok(tests.sound(), 'the ledger still sums to zero');

-- (4) api.set_bundle of 2^62 tokens was accepted, and each api.complete_payment of it credited 2^62 tokens
--     (the third one overflowed the issuance wallet).
SELECT tests.snap();
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.set_bundle(%L, %s, 999)', 'huge_' || t, t), 'LP103', NULL,
                 format('set_bundle with %s tokens is LP103', t))
  FROM unnest(ARRAY[9223372036854775807, 4611686018427387904, 10000000001]) AS t;
SELECT throws_ok(format('SELECT api.set_bundle(''pricey'', 100, %s)', p), 'LP103', NULL,
                 format('set_bundle priced %s minor units is LP103', p))
  FROM unnest(ARRAY[9223372036854775807, 10000000001]) AS p;
SELECT throws_ok($$SELECT api.set_bundle('small', 4611686018427387904, 499)$$, 'LP103', NULL,
                 'set_bundle cannot grow an existing bundle to 2^62 tokens either');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and changed nothing (no bundle created or changed, no audit row)');
-- A bundle stored before the bound (or before money.max_tokens was lowered) is not sold any more.
INSERT INTO lp.token_bundles (code, tokens, price_minor) VALUES ('legacy_huge', 4611686018427387904, 100);
SELECT tests.snap();
SELECT tests.authenticate_as('vic');
SELECT throws_ok($$SELECT api.create_payment('legacy_huge', 'stripe', 'pay-huge')$$, 'LP103', NULL,
                 'create_payment of a bundle above money.max_tokens is LP103 (so complete_payment never credits it)');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and changed nothing (no payment)');
SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_bundle('max_bundle', 10000000000, 10000000000)$$,
                'set_bundle at money.max_tokens tokens and money.max_price_minor is accepted');
SELECT tests.clear_authentication();

-- == The other amounts =====================================================================================
SELECT tests.snap();
SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_setting('tips.max_tokens', '1000000000000')$$, 'setup: tips.max_tokens raised to 10^12');
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format('SELECT api.tip(%L, 10000000001, ''t-big'')', tests.user_id('pam')), 'LP103', NULL,
                 'tip above money.max_tokens is LP103 even below tips.max_tokens');
SELECT throws_ok(format('SELECT api.tip(%L, 9223372036854775807, ''t-max'')', tests.user_id('pam')), 'LP103', NULL,
                 'tip of 2^63-1 is LP103');
SELECT throws_ok($$SELECT api.set_spending_limit('weekly', 10000000001)$$, 'LP103', NULL,
                 'set_spending_limit above money.max_tokens is LP103');
SELECT throws_ok($$SELECT api.set_spending_limit('monthly', 9223372036854775807)$$, 'LP103', NULL,
                 'set_spending_limit of 2^63-1 is LP103');
SELECT tests.authenticate_as('pam');
SELECT throws_ok($$SELECT api.request_payout(9223372036854775807, 'paypal', 'po-max')$$, 'LP103', NULL,
                 'request_payout of 2^63-1 is LP103');
SELECT throws_ok($$SELECT api.request_payout(10000000001, 'paypal', 'po-big')$$, 'LP103', NULL,
                 'request_payout above money.max_tokens is LP103');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and changed nothing');
SELECT tests.authenticate_as('vic');
SELECT lives_ok($$SELECT api.set_spending_limit('weekly', 10000000000)$$, 'set_spending_limit at money.max_tokens is accepted');
SELECT tests.clear_authentication();

-- == The bounds as settings ================================================================================
SELECT tests.snap();
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.set_setting(%L, %L)', k, v), 'LP092', NULL, format('set_setting: %s = %s is LP092 (%s)', k, v, why))
  FROM (VALUES ('money.max_tokens', '0', 'below 1'),
               ('money.max_tokens', '1000000000001', 'above 10^12 (amount * fee_bps must stay in bigint)'),
               ('money.max_tokens', '9223372036854775807', 'above 10^12'),
               ('money.max_tokens', '"100"', 'a string'),
               ('money.max_price_minor', '0', 'below 1'),
               ('money.max_price_minor', '1000000000000001', 'above 10^15'),
               ('auth.bcrypt_cost', '4', 'below 10'),
               ('auth.bcrypt_cost', '9', 'below 10'),
               ('auth.bcrypt_cost', '16', 'above 15')) AS v (k, v, why);
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and changed nothing (settings, audit)');
SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_setting('auth.bcrypt_cost', '10')$$, 'set_setting: auth.bcrypt_cost = 10 is accepted');
SELECT lives_ok($$SELECT api.set_setting('money.max_tokens', '1000000000000')$$, 'set_setting: money.max_tokens = 10^12 is accepted');
SELECT lives_ok($$SELECT api.set_setting('money.max_tokens', '100')$$, 'set_setting: money.max_tokens = 100 is accepted');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, 101, ''r'', ''adj-101'')', tests.user_id('vic')), 'LP103', NULL,
                 'the new bound applies to the next call: adjust_balance(101) is LP103');
SELECT lives_ok(format('SELECT api.adjust_balance(%L, -100, ''r'', ''adj-m100'')', tests.user_id('vic')),
                'adjust_balance(-100) is within the new bound');
SELECT tests.clear_authentication();

-- == api.login: device_info at most 4 KiB ==================================================================
SELECT tests.snap();
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.login(''vic'', %L, NULL, NULL, %L::jsonb)', tests.password(),
                        jsonb_build_object('blob', repeat('x', 1048576))),
                 'LP018', NULL, 'login: a device_info of 1 MiB is LP018');
SELECT throws_ok(format('SELECT api.login(''vic'', %L, NULL, NULL, %L::jsonb)', tests.password(),
                        jsonb_build_object('blob', repeat('x', 4097 - length('{"blob": ""}')))),
                 'LP018', NULL, 'login: a device_info of 4097 bytes as text is LP018');
SELECT throws_ok(format('SELECT api.login(''vic'', %L, NULL, NULL, %L::jsonb)', tests.password(), '[1, 2]'),
                 'LP018', NULL, 'login: a device_info that is not an object is LP018');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and changed nothing (no session, no failed-login count, no audit row)');
SELECT tests.authenticate_as(NULL);
SELECT is((api.login('vic', tests.password(), NULL, NULL,
                     jsonb_build_object('blob', repeat('x', 4096 - length('{"blob": ""}'))))).success, true,
          'login: a device_info of exactly 4096 bytes as text is stored');
SELECT tests.clear_authentication();
SELECT is((SELECT octet_length(device_info::text) FROM lp.auth_sessions WHERE user_id = tests.user_id('vic')
            ORDER BY created_at DESC LIMIT 1), 4096, 'the session keeps the 4096-byte device_info');

SELECT * FROM finish();
ROLLBACK;
