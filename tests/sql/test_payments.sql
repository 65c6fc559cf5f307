-- Purchases: token bundles (api.list_bundles, api.set_bundle), payments (api.create_payment, api.complete_payment,
-- api.fail_payment, api.refund_payment, api.chargeback_payment, api.get_payment, api.list_payments) and the
-- shortfall policy of refunds and chargebacks (debt / write_off), with every rejection and its SQLSTATE, replays,
-- and the ledger sums after every money operation.
BEGIN;
SELECT plan(169);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   10_scratch.sql:  tests.put, tests.get(key, field), tests.pid
--   20_money.sql:    tests.wallet, tests.wallet_state, tests.sound, tests.last_audit

-- Token economy helpers of this file (SECURITY DEFINER: they read every row whatever role is in force).
--   tests.main(username)        main balance; tests.total(username): main + credit shards
--   tests.sys(code)             a system wallet's total, relative to the start of this file
--   tests.state()               what tests.snap() / tests.unchanged(description) compare (helpers/15_rejects.sql):
--                               balances, ledger, payments, adjustments, reports, audit,
--                               idempotency keys, tips, bundles and settings
CREATE FUNCTION tests.main(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance FROM lp.wallets AS w WHERE w.user_id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.total(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)::bigint
      FROM lp.wallets AS w WHERE w.user_id = tests.user_id(p_username)
$$;
CREATE TABLE tests.sys_start AS
SELECT w.system_code, w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)::bigint AS total
  FROM lp.wallets AS w WHERE w.kind = 'system';
CREATE FUNCTION tests.sys(p_code text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)::bigint
           - (SELECT t.total FROM tests.sys_start AS t WHERE t.system_code = p_code)
      FROM lp.wallets AS w WHERE w.system_code = p_code
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(format('%s %s %s %s', w.id, w.balance, w.reserved, w.debt_since), ',' ORDER BY w.id) FROM lp.wallets AS w),
        (SELECT string_agg(format('%s %s %s', s.wallet_id, s.shard, s.balance), ',' ORDER BY s.wallet_id, s.shard) FROM lp.wallet_shards AS s),
        (SELECT count(*) FROM lp.ledger),
        (SELECT string_agg(to_jsonb(p)::text, ',' ORDER BY p.id) FROM lp.payments AS p),
        (SELECT string_agg(to_jsonb(a)::text, ',' ORDER BY a.id) FROM lp.adjustments AS a),
        (SELECT count(*) FROM lp.reports),
        (SELECT count(*) FROM lp.audit_logs),
        (SELECT count(*) FROM lp.idempotency_keys),
        (SELECT count(*) FROM lp.tips),
        (SELECT string_agg(to_jsonb(b)::text, ',' ORDER BY b.code) FROM lp.token_bundles AS b),
        (SELECT string_agg(to_jsonb(s)::text, ',' ORDER BY s.key) FROM lp.settings AS s)))
$$;

-- Helpers of this file.
--   tests.pay(key)                  'status rec=.. wo=.. debt=.. at=t|f reason=..' of the payment stored under key
--   tests.entries(payment, kinds)   the payment's ledger entries of these kinds: 'owner kind amount, ...'
--   tests.hold(user, payee, amount) an open hold (a fixture: the holds api is not used here): lp.holds row and
--                                   the wallet's reserved raised by the amount
CREATE FUNCTION tests.pay(p_key text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT format('%s rec=%s wo=%s debt=%s at=%s reason=%s', p.status, p.recovered_tokens, p.written_off_tokens,
                  p.debt_tokens,
                  CASE p.status WHEN 'refunded' THEN p.refunded_at IS NOT NULL AND p.charged_back_at IS NULL
                                WHEN 'chargeback' THEN p.charged_back_at IS NOT NULL AND p.refunded_at IS NULL END::text,
                  p.reversal_reason)
      FROM lp.payments AS p WHERE p.id = tests.pid(p_key)
$$;
CREATE FUNCTION tests.entries(p_payment uuid, p_kinds text[]) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT string_agg(format('%s %s %s', o.owner, e.entry_kind, e.amount), ', ' ORDER BY o.owner, e.entry_kind, e.amount)
      FROM lp.ledger AS e
      JOIN lp.wallets AS w ON w.id = e.wallet_id
      LEFT JOIN lp.users AS u ON u.id = w.user_id
     CROSS JOIN LATERAL (SELECT coalesce(u.username::text, w.system_code) AS owner) AS o
     WHERE e.reference_type = 'payment' AND e.reference_id = p_payment AND e.entry_kind = ANY (p_kinds)
$$;
CREATE FUNCTION tests.hold(p_username text, p_payee text, p_amount bigint) RETURNS text
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    INSERT INTO lp.holds (user_id, wallet_id, payee_id, purpose, amount, expires_at, idempotency_key)
    VALUES (tests.user_id(p_username), tests.wallet(p_username), tests.user_id(p_payee), 'other', p_amount,
            now() + interval '1 hour', gen_random_uuid()::text);
    UPDATE lp.wallets SET reserved = reserved + p_amount WHERE id = tests.wallet(p_username);
    SELECT format('# %s holds %s tokens for %s', p_username, p_amount, p_payee)
$$;
-- A purchase from start to end: the acting user creates the payment, the service completes it.
CREATE FUNCTION tests.buy(p_key text, p_username text, p_bundle text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tests.authenticate_as(p_username);
    PERFORM tests.put(p_key, api.create_payment(p_bundle, 'stripe', 'buy-' || p_key));
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    PERFORM tests.put(p_key, api.complete_payment(tests.pid(p_key), 'ch_' || p_key, 'complete-' || p_key));
    PERFORM tests.clear_authentication();
    RETURN format('# %s bought %s (%s)', p_username, p_bundle, p_key);
END
$$;

-- == Fixture ===============================================================================================
DO $$
BEGIN
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user(u) FROM unnest(ARRAY['vic', 'bob', 'carl', 'dan', 'eve', 'sal']) AS u;
    PERFORM tests.create_user('pam', 'performer');
    PERFORM tests.create_user('quinn', 'performer');
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason) VALUES (tests.user_id('sal'), 'ban', 'fraud');
END
$$;

-- == Bundles: api.list_bundles, api.set_bundle ============================================================
SELECT tests.authenticate_as('vic');
SELECT results_eq($$SELECT code FROM api.list_bundles()$$, $$VALUES ('small'), ('medium'), ('large')$$,
                  'list_bundles: a viewer sees the bundles on sale, smallest first');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT * FROM api.list_bundles()$$, 'LP001', NULL, 'list_bundles: nobody acting is LP001');

SELECT tests.snap();
SELECT tests.authenticate_as('vic');
SELECT throws_ok($$SELECT api.set_bundle('mega', 20000, 14999)$$, 'LP002', NULL, 'set_bundle: a viewer is LP002');
SELECT tests.authenticate_as('mona');
SELECT throws_ok($$SELECT api.set_bundle('mega', 20000, 14999)$$, 'LP002', NULL, 'set_bundle: a moderator is LP002');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok($$SELECT api.set_bundle('mega', 20000, 14999)$$, 'LP001', NULL, 'set_bundle: the service with nobody acting is LP001');
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.set_bundle(%L, %L::bigint, %L::bigint, %L, %L::boolean)', c, t, p, cur, act), code, NULL,
                 format('set_bundle: %s is %s', why, code))
  FROM (VALUES ('Mega', 1, 1, 'USD', 'true', 'LP018', 'an upper-case code'),
               (NULL, 1, 1, 'USD', 'true', 'LP018', 'a NULL code'),
               (repeat('m', 41), 1, 1, 'USD', 'true', 'LP018', 'a 41-character code'),
               ('mega', 0, 1, 'USD', 'true', 'LP103', 'zero tokens'),
               ('mega', NULL, 1, 'USD', 'true', 'LP103', 'NULL tokens'),
               ('mega', 1, -5, 'USD', 'true', 'LP103', 'a negative price'),
               ('mega', 1, 1, 'usd', 'true', 'LP018', 'a lower-case currency'),
               ('mega', 1, 1, 'USD', NULL, 'LP018', 'a NULL active flag')) AS v (c, t, p, cur, act, code, why);
SELECT tests.clear_authentication();
SELECT tests.unchanged('rejected set_bundle calls changed nothing (bundles, audit)');

SELECT tests.authenticate_as('ada');
SELECT results_eq($$SELECT code, tokens, price_minor, currency, active FROM api.set_bundle('mega', 20000, 14999)$$,
                  $$VALUES ('mega'::text, 20000::bigint, 14999::bigint, 'USD'::text, true)$$,
                  'set_bundle: an admin creates a bundle (USD, on sale by default)');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_type, target_id, details FROM tests.last_audit('config.bundle_change')$$,
                  format($$VALUES (%L::uuid, 'bundle'::text, 'mega'::text,
                                   '{"old": null, "new": {"tokens": 20000, "price_minor": 14999, "currency": "USD", "active": true}}'::jsonb)$$,
                         tests.user_id('ada')),
                  'set_bundle: audited as config.bundle_change (old NULL for a new bundle, new values)');
SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_bundle('small', 550, 499)$$, 'set_bundle: an admin changes the small bundle to 550 tokens');
SELECT tests.clear_authentication();
SELECT is((SELECT details FROM tests.last_audit('config.bundle_change')),
          '{"old": {"tokens": 500, "price_minor": 499, "currency": "USD", "active": true}, "new": {"tokens": 550, "price_minor": 499, "currency": "USD", "active": true}}'::jsonb,
          'set_bundle: a change is audited with the old and the new values');
SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_bundle('large', 6000, 4999, 'USD', false)$$, 'set_bundle: an admin takes the large bundle off sale');
SELECT results_eq($$SELECT code FROM api.list_bundles()$$, $$VALUES ('small'), ('medium'), ('large'), ('mega')$$,
                  'list_bundles: an admin sees every bundle, inactive ones too');
SELECT tests.authenticate_as('vic');
SELECT results_eq($$SELECT code, tokens FROM api.list_bundles()$$,
                  $$VALUES ('small', 550::bigint), ('medium', 1100::bigint), ('mega', 20000::bigint)$$,
                  'list_bundles: a viewer no longer sees the inactive bundle, and sees the new ones');

-- == api.create_payment =====================================================================================
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format('SELECT api.create_payment(%L, %L, %L)', b, p, k), code, NULL, format('create_payment: %s is %s', why, code))
  FROM (VALUES ('nope', 'stripe', 'k', 'LP113', 'an unknown bundle'),
               ('large', 'stripe', 'k', 'LP113', 'an inactive bundle'),
               (NULL, 'stripe', 'k', 'LP113', 'a NULL bundle'),
               ('small', 'Stripe', 'k', 'LP018', 'a malformed provider'),
               ('small', NULL, 'k', 'LP018', 'a NULL provider'),
               ('small', 'stripe', ' ', 'LP018', 'a blank idempotency key'),
               ('small', 'stripe', repeat('k', 129), 'LP018', 'a 129-character idempotency key')) AS v (b, p, k, code, why);
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT api.create_payment('small', 'stripe', 'k')$$, 'LP001', NULL, 'create_payment: nobody acting is LP001');
SELECT tests.authenticate_as('sal');
SELECT throws_ok($$SELECT api.create_payment('small', 'stripe', 'k')$$, 'LP022', NULL, 'create_payment: a banned user is LP022');
SELECT tests.clear_authentication();
SELECT tests.unchanged('rejected create_payment calls changed nothing');

SELECT tests.authenticate_as('vic');
SELECT tests.put('p1', api.create_payment('small', 'stripe', 'buy-1'));
SELECT results_eq(format($$SELECT user_id, bundle_code, tokens, amount_minor, currency, status::text, provider, provider_reference,
                                  completed_at FROM lp.payments WHERE id = %L$$, tests.pid('p1')),
                  format($$VALUES (%L::uuid, 'small'::text, 550::bigint, 499::bigint, 'USD'::text, 'pending'::text,
                                   'stripe'::text, NULL::text, NULL::timestamptz)$$, tests.user_id('vic')),
                  'create_payment: a pending payment of the acting user that copies the bundle''s tokens and price');
SELECT is((api.create_payment('small', 'stripe', 'buy-1')).id, tests.pid('p1'), 'create_payment: a replay returns the original payment');
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.authenticate_as('vic');
SELECT throws_ok($$SELECT api.create_payment('medium', 'stripe', 'buy-1')$$, 'LP106', NULL, 'create_payment: the key with another bundle is LP106');
SELECT throws_ok($$SELECT api.create_payment('small', 'paypal', 'buy-1')$$, 'LP106', NULL, 'create_payment: the key with another provider is LP106');
SELECT tests.clear_authentication();
SELECT tests.unchanged('conflicting replays of create_payment changed nothing');
SELECT tests.authenticate_as('bob');
SELECT tests.put('p2', api.create_payment('small', 'stripe', 'buy-1'));
SELECT isnt(tests.pid('p2'), tests.pid('p1'), 'create_payment: keys are per user (another user''s buy-1 is a new payment)');
SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_bundle('small', 550, 599)$$, 'an admin raises the price of the small bundle');
SELECT tests.clear_authentication();
SELECT is((SELECT amount_minor FROM lp.payments WHERE id = tests.pid('p1')), 499::bigint,
          'a payment keeps the price it copied when the bundle changes');

-- == complete / fail / refund / chargeback: service only, rejections =====================================
SELECT tests.snap();
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format('SELECT api.complete_payment(%L, %L, %L)', tests.pid('p1'), 'ch_1', 'c-1'), '42501', NULL,
                 'complete_payment: the application role may not run it (service only)');
SELECT throws_ok(format('SELECT api.fail_payment(%L, %L, %L)', tests.pid('p1'), 'x', 'f-1'), '42501', NULL,
                 'fail_payment: the application role may not run it (service only)');
SELECT throws_ok(format('SELECT api.refund_payment(%L, %L, %L)', tests.pid('p1'), 'x', 'r-1'), '42501', NULL,
                 'refund_payment: the application role may not run it (service only)');
SELECT throws_ok(format('SELECT api.chargeback_payment(%L, %L, %L)', tests.pid('p1'), 'x', 'cb-1'), '42501', NULL,
                 'chargeback_payment: the application role may not run it (service only)');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok(format('SELECT api.%s(%L, %L, %L)', f, id, arg, k), code, NULL, format('%s: %s is %s', f, why, code))
  FROM (VALUES ('complete_payment', gen_random_uuid(), 'ch_1', 'c-1', 'LP003', 'an unknown payment'),
               ('complete_payment', tests.pid('p1'), ' ', 'c-1', 'LP018', 'a blank provider reference'),
               ('complete_payment', tests.pid('p1'), repeat('r', 256), 'c-1', 'LP018', 'a 256-character provider reference'),
               ('complete_payment', tests.pid('p1'), 'ch_1', NULL, 'LP018', 'a NULL idempotency key'),
               ('fail_payment', gen_random_uuid(), 'declined', 'f-1', 'LP003', 'an unknown payment'),
               ('fail_payment', tests.pid('p1'), repeat('r', 501), 'f-1', 'LP018', 'a 501-character reason'),
               ('refund_payment', gen_random_uuid(), 'asked', 'r-1', 'LP003', 'an unknown payment'),
               ('refund_payment', tests.pid('p1'), ' ', 'r-1', 'LP018', 'a blank reason'),
               ('chargeback_payment', gen_random_uuid(), 'dispute', 'cb-1', 'LP003', 'an unknown payment'),
               ('chargeback_payment', tests.pid('p1'), NULL, 'cb-1', 'LP018', 'a NULL reason'),
               ('chargeback_payment', tests.pid('p1'), 'dispute', '', 'LP018', 'an empty idempotency key'))
       AS v (f, id, arg, k, code, why);
SELECT tests.clear_authentication();
SELECT tests.unchanged('rejected service calls changed nothing');

-- == api.complete_payment ===================================================================================
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.put('p1c', api.complete_payment(tests.pid('p1'), 'ch_1', 'c-1'));
SELECT tests.clear_authentication();
SELECT results_eq(format($$SELECT status::text, provider_reference, completed_at FROM lp.payments WHERE id = %L$$, tests.pid('p1')),
                  $$VALUES ('completed'::text, 'ch_1'::text, now())$$,
                  'complete_payment: the payment is completed with the provider''s reference');
SELECT is(tests.wallet_state('vic'), 'main=550 reserved=0 shards=0 debt=false', 'complete_payment: the buyer is credited 550 tokens');
SELECT is(tests.entries(tests.pid('p1'), ARRAY['purchase']), 'issuance purchase -550, vic purchase 550',
          'complete_payment: one ledger transaction, issuance -550 and buyer +550 (entry kind purchase)');
SELECT is((SELECT count(DISTINCT transaction_id) FROM lp.ledger WHERE reference_id = tests.pid('p1')), 1::bigint,
          'complete_payment: the two entries are one transaction');
SELECT ok(tests.sound(), 'after complete_payment: every transaction sums to 0 and so do all balances');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(to_jsonb(api.complete_payment(tests.pid('p1'), 'ch_1', 'c-1')), (SELECT value FROM tests.ctx WHERE key = 'p1c'),
          'complete_payment: a replay returns the original result');
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok(format('SELECT api.complete_payment(%L, %L, %L)', tests.pid('p1'), 'ch_other', 'c-1'), 'LP106', NULL,
                 'complete_payment: the key with another reference is LP106');
SELECT throws_ok(format('SELECT api.complete_payment(%L, %L, %L)', tests.pid('p2'), 'ch_1', 'c-1'), 'LP106', NULL,
                 'complete_payment: the key with another payment is LP106');
SELECT throws_ok(format('SELECT api.complete_payment(%L, %L, %L)', tests.pid('p1'), 'ch_1', 'c-again'), 'LP004', NULL,
                 'complete_payment: a completed payment cannot be completed again (LP004)');
SELECT throws_ok(format('SELECT api.fail_payment(%L, %L, %L)', tests.pid('p1'), 'late', 'f-late'), 'LP004', NULL,
                 'fail_payment: a completed payment cannot fail (LP004)');
SELECT throws_ok(format('SELECT api.complete_payment(%L, %L, %L)', tests.pid('p2'), 'ch_1', 'c-2'), 'LP018', NULL,
                 'complete_payment: a provider reference that another payment of the provider has is LP018');
SELECT tests.clear_authentication();
SELECT tests.unchanged('rejected complete/fail calls changed nothing (balances, ledger, payments, keys)');

-- == api.fail_payment =======================================================================================
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.put('p2f', api.fail_payment(tests.pid('p2'), 'card declined', 'f-2'));
SELECT tests.clear_authentication();
SELECT results_eq(format($$SELECT status::text, failure_reason, completed_at FROM lp.payments WHERE id = %L$$, tests.pid('p2')),
                  $$VALUES ('failed'::text, 'card declined'::text, NULL::timestamptz)$$,
                  'fail_payment: the pending payment is failed with its reason');
SELECT is((SELECT count(*) FROM lp.ledger WHERE reference_id = tests.pid('p2')), 0::bigint, 'fail_payment: no token moves');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(to_jsonb(api.fail_payment(tests.pid('p2'), 'card declined', 'f-2')), (SELECT value FROM tests.ctx WHERE key = 'p2f'),
          'fail_payment: a replay returns the original result');
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok(format('SELECT api.fail_payment(%L, %L, %L)', tests.pid('p2'), 'insufficient funds', 'f-2'), 'LP106', NULL,
                 'fail_payment: the key with another reason is LP106');
SELECT throws_ok(format('SELECT api.%s(%L, %L, %L)', f, tests.pid('p2'), arg, k), 'LP004', NULL, format('%s: a failed payment is LP004', f))
  FROM (VALUES ('complete_payment', 'ch_2', 'c-2'), ('fail_payment', 'again', 'f-2b'),
               ('refund_payment', 'asked', 'r-2'), ('chargeback_payment', 'dispute', 'cb-2')) AS v (f, arg, k);
SELECT tests.clear_authentication();
SELECT tests.authenticate_as('vic');
SELECT tests.put('p3', api.create_payment('medium', 'stripe', 'buy-3'));
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok(format('SELECT api.%s(%L, %L, %L)', f, tests.pid('p3'), 'asked', k), 'LP004', NULL, format('%s: a pending payment is LP004', f))
  FROM (VALUES ('refund_payment', 'r-3'), ('chargeback_payment', 'cb-3')) AS v (f, k);
SELECT tests.clear_authentication();
SELECT tests.unchanged('rejected transitions of failed and pending payments changed nothing');
SELECT ok(tests.sound(), 'after fail_payment: the ledger sums to 0');

-- == Refund, shortfall policy "debt" (the default) ========================================================
SELECT is(lp.setting('refunds.shortfall_policy'), '"debt"'::jsonb, 'the default shortfall policy is debt');
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 300, %L)', tests.user_id('pam'), 't-1'), 'vic spends 300 of the 550 tokens on a tip');
SELECT tests.clear_authentication();
SELECT is(tests.wallet_state('vic'), 'main=250 reserved=0 shards=0 debt=false', 'vic has 250 tokens left');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.put('p1r', api.refund_payment(tests.pid('p1'), 'customer request', 'r-1'));
SELECT tests.clear_authentication();
SELECT is(tests.pay('p1'), 'refunded rec=250 wo=0 debt=300 at=true reason=customer request',
          'refund (debt): 250 tokens recovered, 300 owed, refunded_at and the reason recorded');
SELECT is(tests.wallet_state('vic'), 'main=-300 reserved=0 shards=0 debt=true',
          'refund (debt): the buyer is debited all 550 tokens and is in debt (-300)');
SELECT is(tests.entries(tests.pid('p1'), ARRAY['refund', 'write_off']), 'issuance refund 550, vic refund -550',
          'refund (debt): issuance +550, buyer -550 (entry kind refund), nothing written off');
SELECT is(tests.sys('issuance'), 0::bigint, 'refund: the refunded tokens left circulation (issuance back to where it was)');
SELECT results_eq($$SELECT target_type, target_id, details ->> 'recovered_tokens', details ->> 'debt_tokens', details ->> 'reason'
                      FROM tests.last_audit('payment.refund')$$,
                  format($$VALUES ('payment'::text, %L::text, '250'::text, '300'::text, 'customer request'::text)$$, tests.pid('p1')),
                  'refund: audited as payment.refund with the numbers and the reason');
SELECT ok(tests.sound(), 'after the refund: every transaction sums to 0 and so do all balances');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(to_jsonb(api.refund_payment(tests.pid('p1'), 'customer request', 'r-1')), (SELECT value FROM tests.ctx WHERE key = 'p1r'),
          'refund_payment: a replay returns the original result');
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok(format('SELECT api.refund_payment(%L, %L, %L)', tests.pid('p1'), 'another reason', 'r-1'), 'LP106', NULL,
                 'refund_payment: the key with another reason is LP106');
SELECT throws_ok(format('SELECT api.refund_payment(%L, %L, %L)', tests.pid('p4'), 'customer request', 'r-1'), 'LP106', NULL,
                 'refund_payment: the key with another payment is LP106');
SELECT throws_ok(format('SELECT api.refund_payment(%L, %L, %L)', tests.pid('p1'), 'customer request', 'r-1b'), 'LP004', NULL,
                 'refund_payment: a refunded payment cannot be refunded again (LP004)');
SELECT throws_ok(format('SELECT api.chargeback_payment(%L, %L, %L)', tests.pid('p1'), 'dispute', 'cb-1'), 'LP004', NULL,
                 'chargeback_payment: a refunded payment cannot be charged back (LP004)');
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format('SELECT api.tip(%L, 10, %L)', tests.user_id('pam'), 't-2'), 'LP107', NULL,
                 'a wallet in debt cannot tip (LP107)');
SELECT tests.clear_authentication();
SELECT tests.unchanged('rejected refunds, chargebacks and tips changed nothing');

SELECT tests.buy('p4', 'vic', 'medium');
SELECT is(tests.wallet_state('vic'), 'main=800 reserved=0 shards=0 debt=false',
          'a completed purchase settles the debt: -300 + 1100 = 800, debt cleared');
SELECT ok(tests.sound(), 'after the purchase: the ledger sums to 0');
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 10, %L)', tests.user_id('pam'), 't-2'), 'once the debt is settled the buyer can tip again');
SELECT tests.clear_authentication();

-- == Debt with an open hold ================================================================================
SELECT tests.buy('p5', 'bob', 'small');
SELECT tests.authenticate_as('bob');
SELECT lives_ok(format('SELECT api.tip(%L, 100, %L)', tests.user_id('pam'), 't-1'), 'bob spends 100 of 550 tokens');
SELECT tests.hold('bob', 'pam', 200);
SELECT is(tests.wallet_state('bob'), 'main=450 reserved=200 shards=0 debt=false', 'bob: 450 tokens, 200 of them held (available 250)');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format('SELECT api.refund_payment(%L, %L, %L)', tests.pid('p5'), 'duplicate charge', 'r-5'), 'the service refunds bob''s purchase');
SELECT tests.clear_authentication();
SELECT is(tests.pay('p5'), 'refunded rec=450 wo=0 debt=100 at=true reason=duplicate charge',
          'refund (debt) with a hold: the 450 tokens in the wallet (the 200 held ones too) are recovered, 100 owed');
SELECT is(tests.wallet_state('bob'), 'main=-100 reserved=200 shards=0 debt=true',
          'refund (debt) with a hold: the hold stays, the main balance ends below it (in debt)');
SELECT tests.snap();
SELECT throws_ok(format($$SELECT lp.post(gen_random_uuid(), 'hold', (SELECT id FROM lp.holds WHERE user_id = %L),
                         ARRAY[ROW(%L::uuid, -50, 'hold_capture', 50, false)::lp.posting,
                               ROW(%L::uuid, 50, 'hold_capture', 0, false)::lp.posting])$$,
                        tests.user_id('bob'), tests.wallet('bob'), tests.wallet('pam')), 'LP107', NULL,
                 'a capture of the open hold fails with LP107 while the wallet is in debt');
SELECT tests.authenticate_as('bob');
SELECT throws_ok(format('SELECT api.tip(%L, 10, %L)', tests.user_id('pam'), 't-2'), 'LP107', NULL, 'bob in debt cannot tip (LP107)');
SELECT tests.clear_authentication();
SELECT tests.unchanged('the refused capture and tip changed nothing');
SELECT tests.buy('p6', 'bob', 'medium');
SELECT is(tests.wallet_state('bob'), 'main=1000 reserved=200 shards=0 debt=false',
          'a purchase brings bob back above his reserved tokens: debt cleared');
SELECT ok(tests.sound(), 'after debt and settlement with a hold: the ledger sums to 0');

-- == Chargeback and refund, shortfall policy "write_off" ==================================================
SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_setting('refunds.shortfall_policy', '"write_off"')$$, 'an admin switches the shortfall policy to write_off');
SELECT tests.buy('p7', 'carl', 'small');
SELECT tests.authenticate_as('carl');
SELECT lives_ok(format('SELECT api.tip(%L, 500, %L)', tests.user_id('pam'), 't-1'), 'carl spends 500 of 550 tokens');
SELECT tests.hold('carl', 'pam', 30);
SELECT is(tests.wallet_state('carl'), 'main=50 reserved=30 shards=0 debt=false', 'carl: 50 tokens, 30 held (available 20)');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.put('p7cb', api.chargeback_payment(tests.pid('p7'), 'fraudulent dispute', 'cb-7'));
SELECT tests.clear_authentication();
SELECT is(tests.pay('p7'), 'chargeback rec=50 wo=500 debt=0 at=true reason=fraudulent dispute',
          'chargeback (write_off): the 50 tokens in the wallet (the 30 held ones too) recovered, 500 written off');
SELECT is(tests.wallet_state('carl'), 'main=0 reserved=30 shards=0 debt=true',
          'chargeback (write_off): held tokens are taken back too, so the hold cannot be captured (wallet in debt)');
SELECT is(tests.entries(tests.pid('p7'), ARRAY['chargeback', 'write_off']),
          'carl chargeback -50, chargeback_losses write_off -500, issuance chargeback 550',
          'chargeback (write_off): buyer -50, loss wallet -500 (write_off), issuance +550, one transaction');
SELECT is(tests.sys('chargeback_losses'), -500::bigint, 'the loss is booked to the chargeback-loss wallet');
SELECT results_eq(format($$SELECT reporter_id, reason::text, priority, status::text, description LIKE %L FROM lp.reports WHERE reported_user_id = %L$$,
                         '%' || tests.pid('p7') || '%', tests.user_id('carl')),
                  $$VALUES (NULL::uuid, 'fraud'::text, 'high'::text, 'open'::text, true)$$,
                  'chargeback: the buyer is flagged for review (a high-priority fraud report naming the payment)');
SELECT results_eq(format($$SELECT actor_id, target_type, target_id, details ->> 'recovered_tokens', details ->> 'written_off_tokens',
                                  details ->> 'reason', (details ->> 'report_id')::uuid = (SELECT id FROM lp.reports WHERE reported_user_id = %L)
                             FROM tests.last_audit('payment.chargeback')$$, tests.user_id('carl')),
                  format($$VALUES (NULL::uuid, 'payment'::text, %L::text, '50'::text, '500'::text, 'fraudulent dispute'::text, true)$$, tests.pid('p7')),
                  'chargeback: audited as payment.chargeback (no acting user) with the numbers, reason and report');
SELECT ok(tests.sound(), 'after the chargeback: every transaction sums to 0 and so do all balances');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(to_jsonb(api.chargeback_payment(tests.pid('p7'), 'fraudulent dispute', 'cb-7')), (SELECT value FROM tests.ctx WHERE key = 'p7cb'),
          'chargeback_payment: a replay returns the original result');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.reports WHERE reported_user_id = tests.user_id('carl')), 1::bigint, '... and files no second report');
SELECT tests.snap();
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok(format('SELECT api.chargeback_payment(%L, %L, %L)', tests.pid('p7'), 'another reason', 'cb-7'), 'LP106', NULL,
                 'chargeback_payment: the key with another reason is LP106');
SELECT throws_ok(format('SELECT api.chargeback_payment(%L, %L, %L)', tests.pid('p7'), 'fraudulent dispute', 'cb-7b'), 'LP004', NULL,
                 'chargeback_payment: a charged-back payment cannot be charged back again (LP004)');
SELECT throws_ok(format('SELECT api.refund_payment(%L, %L, %L)', tests.pid('p7'), 'asked', 'r-7'), 'LP004', NULL,
                 'refund_payment: a charged-back payment cannot be refunded (LP004)');
SELECT tests.clear_authentication();
SELECT tests.unchanged('rejected chargeback calls changed nothing');

SELECT tests.buy('p8', 'dan', 'small');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format('SELECT api.chargeback_payment(%L, %L, %L)', tests.pid('p8'), 'dispute', 'cb-8'), 'dan''s purchase is charged back before he spent anything');
SELECT tests.clear_authentication();
SELECT is(tests.pay('p8'), 'chargeback rec=550 wo=0 debt=0 at=true reason=dispute', 'chargeback (write_off), nothing spent: all 550 recovered');
SELECT is(tests.entries(tests.pid('p8'), ARRAY['chargeback', 'write_off']), 'dan chargeback -550, issuance chargeback 550',
          'chargeback, nothing spent: no write-off leg');

SELECT tests.buy('p9', 'eve', 'small');
SELECT tests.authenticate_as('eve');
SELECT lives_ok(format('SELECT api.tip(%L, 550, %L)', tests.user_id('pam'), 't-1'), 'eve spends all 550 tokens');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format('SELECT api.refund_payment(%L, %L, %L)', tests.pid('p9'), 'goodwill', 'r-9'), 'eve''s purchase is refunded');
SELECT tests.clear_authentication();
SELECT is(tests.pay('p9'), 'refunded rec=0 wo=550 debt=0 at=true reason=goodwill', 'refund (write_off), everything spent: all 550 written off');
SELECT is(tests.entries(tests.pid('p9'), ARRAY['refund', 'write_off']), 'chargeback_losses write_off -550, issuance refund 550',
          'refund (write_off), everything spent: no buyer leg, loss wallet -550, issuance +550');
SELECT is(tests.wallet_state('eve'), 'main=0 reserved=0 shards=0 debt=false', 'refund (write_off): eve stays at 0, not in debt');
SELECT is(tests.sys('chargeback_losses'), -1050::bigint, 'the chargeback-loss wallet carries both losses (500 + 550)');
SELECT ok(tests.sound(), 'after the write-offs: the ledger sums to 0');

-- == A buyer with credit shards (a performer) ==============================================================
SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_setting('refunds.shortfall_policy', '"debt"')$$, 'an admin switches the shortfall policy back to debt');
SELECT tests.clear_authentication();
SELECT is(tests.wallet_state('pam'), 'main=0 reserved=0 shards=1168 debt=false', 'pam''s tip earnings (240 + 8 + 80 + 400 + 440) wait in her shards');
SELECT tests.buy('p10', 'pam', 'small');
SELECT is(tests.wallet_state('pam'), 'main=0 reserved=0 shards=1718 debt=false', 'a performer''s purchase is credited to a shard');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format('SELECT api.refund_payment(%L, %L, %L)', tests.pid('p10'), 'asked', 'r-10'), 'pam''s purchase is refunded');
SELECT tests.clear_authentication();
SELECT is(tests.pay('p10'), 'refunded rec=550 wo=0 debt=0 at=true reason=asked', 'refund of a sharded wallet: the shards are swept first, all 550 recovered');
SELECT is(tests.wallet_state('pam'), 'main=1168 reserved=0 shards=0 debt=false', '... the shards were swept into the main balance, then debited');
SELECT tests.buy('p11', 'pam', 'small');
SELECT tests.authenticate_as('pam');
SELECT lives_ok(format('SELECT api.tip(%L, 1668, %L)', tests.user_id('quinn'), 't-1'), 'pam spends 1668 of her 1718 tokens');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format('SELECT api.refund_payment(%L, %L, %L)', tests.pid('p11'), 'asked', 'r-11'), 'pam''s second purchase is refunded');
SELECT tests.clear_authentication();
SELECT is(tests.pay('p11'), 'refunded rec=50 wo=0 debt=500 at=true reason=asked', 'refund (debt) of a performer: 50 recovered, 500 owed');
SELECT is(tests.wallet_state('pam'), 'main=-500 reserved=0 shards=0 debt=true', 'the performer''s wallet is in debt');
SELECT tests.snap();
SELECT tests.authenticate_as('pam');
SELECT throws_ok(format('SELECT api.tip(%L, 10, %L)', tests.user_id('quinn'), 't-2'), 'LP107', NULL, 'a performer in debt cannot tip (LP107)');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and the refused tip changed nothing');
SELECT tests.buy('p12', 'pam', 'medium');
SELECT is(tests.wallet_state('pam'), 'main=600 reserved=0 shards=0 debt=false',
          'a purchase settles a sharded wallet''s debt at once (credited to a shard, then swept): -500 + 1100 = 600');
SELECT ok(tests.sound(), 'after the performer''s purchases and refunds: the ledger sums to 0');

-- == Reads: api.get_payment, api.list_payments =============================================================
SELECT tests.authenticate_as('vic');
SELECT is((api.get_payment(tests.pid('p1'))).status, 'refunded', 'get_payment: the buyer reads their payment');
SELECT throws_ok(format('SELECT api.get_payment(%L)', tests.pid('p2')), 'LP003', NULL, 'get_payment: another user''s payment is LP003');
SELECT throws_ok(format('SELECT api.get_payment(%L)', gen_random_uuid()), 'LP003', NULL, 'get_payment: an unknown payment is LP003');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.get_payment(%L)', tests.pid('p1')), 'LP001', NULL, 'get_payment: nobody acting is LP001');
SELECT tests.authenticate_as('ada');
SELECT is((api.get_payment(tests.pid('p2'))).status, 'failed', 'get_payment: an admin reads any payment');

SELECT tests.authenticate_as('vic');
SELECT set_eq($$SELECT id FROM api.list_payments()$$, ARRAY[tests.pid('p1'), tests.pid('p3'), tests.pid('p4')],
              'list_payments: a user lists their own payments');
SELECT set_eq(format('SELECT id FROM api.list_payments(%L)', tests.user_id('vic')), ARRAY[tests.pid('p1'), tests.pid('p3'), tests.pid('p4')],
              'list_payments: ... also when naming themselves');
SELECT set_eq($$SELECT id FROM api.list_payments(p_status => 'pending')$$, ARRAY[tests.pid('p3')],
              'list_payments: filtered by status');
SELECT throws_ok(format('SELECT * FROM api.list_payments(%L)', tests.user_id('bob')), 'LP002', NULL,
                 'list_payments: another user''s payments are LP002 for a non-admin');
SELECT throws_ok(format('SELECT * FROM api.list_payments(p_after => %L)', tests.pid('p2')), 'LP018', NULL,
                 'list_payments: another user''s payment as cursor is LP018');
SELECT throws_ok(q, 'LP018', NULL, 'list_payments: ' || why || ' is LP018')
  FROM (VALUES ('SELECT * FROM api.list_payments(p_limit => 0)', 'limit 0'),
               ('SELECT * FROM api.list_payments(p_limit => 1001)', 'limit 1001'),
               ('SELECT * FROM api.list_payments(p_status => ''paid'')', 'an unknown status'),
               (format('SELECT * FROM api.list_payments(p_after => %L)', gen_random_uuid()), 'an unknown cursor')) AS v (q, why);
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT * FROM api.list_payments()$$, 'LP001', NULL, 'list_payments: nobody acting is LP001');
SELECT tests.authenticate_as('ada');
SELECT set_eq(format('SELECT id FROM api.list_payments(%L)', tests.user_id('bob')), ARRAY[tests.pid('p2'), tests.pid('p5'), tests.pid('p6')],
              'list_payments: an admin lists any user''s payments');
SELECT is((SELECT count(*) FROM api.list_payments()), 12::bigint, 'list_payments: an admin without a user lists every payment');
SELECT results_eq($$SELECT id FROM api.list_payments(p_limit => 5)$$,
                  $$SELECT id FROM lp.payments ORDER BY created_at DESC, id DESC LIMIT 5$$,
                  'list_payments: the first page, newest first');
SELECT results_eq($$SELECT id FROM api.list_payments(p_after => (SELECT id FROM lp.payments ORDER BY created_at DESC, id DESC OFFSET 4 LIMIT 1), p_limit => 5)$$,
                  $$SELECT id FROM lp.payments ORDER BY created_at DESC, id DESC OFFSET 5 LIMIT 5$$,
                  'list_payments: the second page starts after the last id of the first (keyset)');
SELECT results_eq($$SELECT id FROM api.list_payments(p_after => (SELECT id FROM lp.payments ORDER BY created_at DESC, id DESC OFFSET 9 LIMIT 1), p_limit => 5)$$,
                  $$SELECT id FROM lp.payments ORDER BY created_at DESC, id DESC OFFSET 10$$,
                  'list_payments: the last page holds the rest');

SELECT tests.clear_authentication();
SELECT ok(tests.sound(), 'at the end: every transaction sums to 0, every account''s chain ends at its balance, all balances sum to 0');
SELECT * FROM finish();
ROLLBACK;
