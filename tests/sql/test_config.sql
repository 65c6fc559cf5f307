-- Runtime configuration of the token economy: api.set_setting for the tips, payouts, holds, limits, refunds and
-- wallets keys (admin only, ranges and types, LP092, audited) and the new values taking effect at the next call.
BEGIN;
SELECT plan(71);

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

-- == Fixture ===============================================================================================
DO $$
BEGIN
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('pam', 'performer');
    -- vic gets 100000 tokens (a purchase, posted directly).
    PERFORM lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                    ARRAY[ROW(lp.system_wallet('issuance'), -100000, 'purchase', 0, false)::lp.posting,
                          ROW(tests.wallet('vic'), 100000, 'purchase', 0, false)::lp.posting]);
END
$$;

SELECT results_eq($$SELECT key, value FROM lp.settings
                     WHERE key ~ '^(tips|payouts|holds|limits|refunds|wallets)\.' ORDER BY key$$,
                  $$VALUES ('holds.max_minutes', '1440'::jsonb), ('limits.raise_cooldown_hours', '24'),
                           ('payouts.hold_days', '7'), ('payouts.min_tokens', '5000'),
                           ('refunds.shortfall_policy', '"debt"'), ('tips.fee_bps', '2000'),
                           ('tips.max_tokens', '1000000'), ('tips.min_tokens', '1'),
                           ('wallets.performer_shards', '8')$$,
                  'the token economy settings and their defaults');

-- == Who may change them ==================================================================================
SELECT tests.snap();
SELECT tests.authenticate_as('vic');
SELECT throws_ok($$SELECT api.set_setting('tips.fee_bps', '0')$$, 'LP002', NULL, 'set_setting: a viewer may not change the fee (LP002)');
SELECT tests.authenticate_as('pam');
SELECT throws_ok($$SELECT api.set_setting('tips.fee_bps', '0')$$, 'LP002', NULL, 'set_setting: a performer may not change the fee (LP002)');
SELECT tests.authenticate_as('mona');
SELECT throws_ok($$SELECT api.set_setting('refunds.shortfall_policy', '"write_off"')$$, 'LP002', NULL, 'set_setting: a moderator is LP002');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok($$SELECT api.set_setting('payouts.hold_days', '0')$$, 'LP001', NULL, 'set_setting: the service with nobody acting is LP001');
SELECT tests.clear_authentication();
SELECT tests.unchanged('refused changes changed nothing (settings, audit)');

-- == Values out of range or of the wrong type =============================================================
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.set_setting(%L, %L)', k, v), 'LP092', NULL, format('set_setting: %s = %s is LP092 (%s)', k, v, why))
  FROM (VALUES ('tips.fee_bps', '10001', 'above 10000'),
               ('tips.fee_bps', '-1', 'negative'),
               ('tips.fee_bps', '12.5', 'not an integer'),
               ('tips.fee_bps', '"2000"', 'a string'),
               ('tips.fee_bps', 'null', 'JSON null'),
               ('tips.min_tokens', '0', 'below 1'),
               ('tips.min_tokens', '1000001', 'above tips.max_tokens'),
               ('tips.max_tokens', '0', 'below 1 and below tips.min_tokens'),
               ('tips.max_tokens', '1000000000001', 'above 10^12'),
               ('payouts.min_tokens', '0', 'below 1'),
               ('payouts.min_tokens', 'true', 'a boolean'),
               ('payouts.hold_days', '366', 'above 365'),
               ('payouts.hold_days', '-1', 'negative'),
               ('holds.max_minutes', '0', 'below 1'),
               ('holds.max_minutes', '43201', 'above 43200 (30 days)'),
               ('limits.raise_cooldown_hours', '721', 'above 720'),
               ('wallets.performer_shards', '0', 'below 1'),
               ('wallets.performer_shards', '65', 'above 64'),
               ('refunds.shortfall_policy', '"forgive"', 'an unknown policy'),
               ('refunds.shortfall_policy', '"DEBT"', 'an upper-case policy'),
               ('refunds.shortfall_policy', '1', 'a number'),
               ('refunds.shortfall_policy', '["debt"]', 'an array'),
               ('refunds.shortfall_policy', 'null', 'JSON null')) AS v (k, v, why);
SELECT throws_ok($$SELECT api.set_setting('refunds.shortfall_policy', NULL)$$, 'LP092', NULL, 'set_setting: a NULL policy is LP092');
SELECT throws_ok($$SELECT api.set_setting('tips.no_such_key', '1')$$, 'LP091', NULL, 'set_setting: an unknown tips key is LP091');
SELECT tests.clear_authentication();
SELECT tests.unchanged('rejected values changed nothing (settings, audit)');

-- == Valid values at the bounds ===========================================================================
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.set_setting(%L, %L)', k, v), format('set_setting: %s = %s is accepted', k, v))
  FROM (VALUES (1, 'tips.fee_bps', '10000'), (2, 'tips.fee_bps', '0'),
               (3, 'tips.min_tokens', '1000000'), (4, 'tips.min_tokens', '1'),
               (5, 'tips.max_tokens', '1000000000000'), (6, 'tips.max_tokens', '1'),
               (7, 'payouts.min_tokens', '1'), (8, 'payouts.hold_days', '0'), (9, 'payouts.hold_days', '365'),
               (10, 'holds.max_minutes', '1'), (11, 'holds.max_minutes', '43200'),
               (12, 'limits.raise_cooldown_hours', '0'), (13, 'limits.raise_cooldown_hours', '720'),
               (14, 'wallets.performer_shards', '1'), (15, 'wallets.performer_shards', '64'),
               (16, 'refunds.shortfall_policy', '"write_off"'), (17, 'refunds.shortfall_policy', '"debt"')) AS v (n, k, v)
 ORDER BY n;
SELECT throws_ok($$SELECT api.set_setting('tips.min_tokens', '2')$$, 'LP092', NULL,
                 'set_setting: tips.min_tokens above the current tips.max_tokens (1) is LP092');
SELECT lives_ok($$SELECT api.set_setting('tips.max_tokens', '1000000')$$, 'set_setting: tips.max_tokens back to 1000000');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action = 'setting.change' AND actor_id = tests.user_id('ada')), 18::bigint,
          'every accepted change is audited as setting.change (and no refused one)');
SELECT results_eq($$SELECT actor_id, target_type, target_id, details FROM tests.last_audit('setting.change')$$,
                  format($$VALUES (%L::uuid, 'setting'::text, 'tips.max_tokens'::text, '{"from": 1, "to": 1000000}'::jsonb)$$, tests.user_id('ada')),
                  'the audit row names the admin, the key, and the old and new values');
SELECT results_eq(format($$SELECT value, updated_by FROM lp.settings WHERE key = 'refunds.shortfall_policy'$$),
                  format($$VALUES ('"debt"'::jsonb, %L::uuid)$$, tests.user_id('ada')),
                  'the setting row records the value and who set it');

-- == The new values apply to the next operation ===========================================================
SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_setting('tips.fee_bps', '2000')$$, 'the fee is set to 20 %');
SELECT tests.authenticate_as('vic');
SELECT tests.put('t1', api.tip(tests.user_id('pam'), 1000, 't-1'));
SELECT is(tests.get('t1', 'fee_amount'), '200', 'a tip of 1000 at 2000 bps pays a fee of 200');
SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_setting('tips.fee_bps', '1250')$$, 'an admin lowers the fee to 1250 bps');
SELECT tests.authenticate_as('vic');
SELECT tests.put('t2', api.tip(tests.user_id('pam'), 999, 't-2'));
SELECT is(tests.get('t2', 'fee_amount'), '124', 'the next tip pays the new fee: floor(999 * 1250 / 10000) = 124');
SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_setting('tips.fee_bps', '0')$$, 'an admin waives the fee');
SELECT tests.authenticate_as('vic');
SELECT tests.put('t3', api.tip(tests.user_id('pam'), 500, 't-3'));
SELECT tests.clear_authentication();
SELECT is(tests.get('t3', 'fee_amount'), '0', 'a tip at 0 bps pays no fee');
SELECT is(tests.sys('platform_fees'), 324::bigint, 'the fee wallet received 200 + 124 + 0');
SELECT is(tests.total('pam'), 2175::bigint, 'the performer received 800 + 875 + 500');
SELECT ok(tests.sound(), 'the tips sum to 0 in the ledger');

SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_setting('tips.min_tokens', '10')$$, 'an admin raises the minimum tip to 10');
SELECT lives_ok($$SELECT api.set_setting('tips.max_tokens', '100')$$, 'an admin lowers the maximum tip to 100');
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format('SELECT api.tip(%L, 9, %L)', tests.user_id('pam'), 't-4'), 'LP103', NULL, 'a tip of 9 is now below the minimum (LP103)');
SELECT throws_ok(format('SELECT api.tip(%L, 101, %L)', tests.user_id('pam'), 't-4'), 'LP103', NULL, 'a tip of 101 is now above the maximum (LP103)');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and the refused tips changed nothing');
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 100, %L)', tests.user_id('pam'), 't-4'), 'a tip of 100 is within the new range');

SELECT tests.authenticate_as('ada');
SELECT lives_ok($$SELECT api.set_setting('wallets.performer_shards', '4')$$, 'an admin sets performer shards to 4');
SELECT tests.clear_authentication();
SELECT tests.create_user('nina', 'performer');
SELECT results_eq($$SELECT w.shard_count::integer, (SELECT count(*) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id)::integer
                      FROM lp.wallets AS w WHERE w.user_id = tests.user_id('nina')$$,
                  $$VALUES (4, 4)$$, 'a performer registered afterwards gets 4 credit shards');

SELECT tests.clear_authentication();
SELECT * FROM finish();
ROLLBACK;
