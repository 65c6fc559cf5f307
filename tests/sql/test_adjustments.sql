-- Admin adjustments: api.adjust_balance (admin only, mandatory reason, audited, idempotent), debits that may not
-- overdraw, wallets with holds, in debt and with credit shards, with every rejection and its SQLSTATE.
BEGIN;
SELECT plan(57);

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
--   tests.adj_entries(adjustment)   the adjustment's ledger entries: 'owner kind amount, ...' (one transaction)
--   tests.hold(user, payee, amount) an open hold (a fixture: lp.holds row, the wallet's reserved raised)
--   tests.push_into_debt(user, n)   a clawback fixture: the user debited n tokens with allow_debt (issuance +n)
CREATE FUNCTION tests.adj_entries(p_adjustment uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT string_agg(format('%s %s %s', coalesce(u.username::text, w.system_code), e.entry_kind, e.amount), ', '
                      ORDER BY coalesce(u.username::text, w.system_code))
           || CASE WHEN count(DISTINCT e.transaction_id) = 1
                        AND min(e.transaction_id::text) = (SELECT a.transaction_id::text FROM lp.adjustments AS a WHERE a.id = p_adjustment)
                   THEN '' ELSE ' (not the adjustment''s one transaction)' END
      FROM lp.ledger AS e
      JOIN lp.wallets AS w ON w.id = e.wallet_id
      LEFT JOIN lp.users AS u ON u.id = w.user_id
     WHERE e.reference_type = 'adjustment' AND e.reference_id = p_adjustment
$$;
CREATE FUNCTION tests.hold(p_username text, p_payee text, p_amount bigint) RETURNS text
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    INSERT INTO lp.holds (user_id, wallet_id, payee_id, purpose, amount, expires_at, idempotency_key)
    VALUES (tests.user_id(p_username), tests.wallet(p_username), tests.user_id(p_payee), 'other', p_amount,
            now() + interval '1 hour', gen_random_uuid()::text);
    UPDATE lp.wallets SET reserved = reserved + p_amount WHERE id = tests.wallet(p_username);
    SELECT format('# %s holds %s tokens for %s', p_username, p_amount, p_payee)
$$;
CREATE FUNCTION tests.push_into_debt(p_username text, p_amount bigint) RETURNS text
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                   ARRAY[ROW(lp.system_wallet('issuance'), p_amount, 'chargeback', 0, false)::lp.posting,
                         ROW(tests.wallet(p_username), -p_amount, 'chargeback', 0, true)::lp.posting]);
    SELECT format('# %s clawed back %s tokens', p_username, p_amount)
$$;

-- == Fixture ===============================================================================================
DO $$
BEGIN
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('alex', 'admin');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user(u) FROM unnest(ARRAY['vic', 'bob', 'gus']) AS u;
    PERFORM tests.create_user('pam', 'performer');
    UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('gus');
END
$$;

-- == Who may adjust, and malformed arguments =============================================================
SELECT tests.snap();
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, 100, %L, %L)', tests.user_id('bob'), 'gift', 'k'), 'LP002', NULL,
                 'adjust_balance: a viewer is LP002');
SELECT tests.authenticate_as('mona');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, 100, %L, %L)', tests.user_id('bob'), 'gift', 'k'), 'LP002', NULL,
                 'adjust_balance: a moderator is LP002');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.adjust_balance(%L, 100, %L, %L)', tests.user_id('bob'), 'gift', 'k'), 'LP001', NULL,
                 'adjust_balance: nobody acting is LP001');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, 100, %L, %L)', tests.user_id('bob'), 'gift', 'k'), 'LP001', NULL,
                 'adjust_balance: the service with nobody acting is LP001 (an admin has to act)');
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, %L::bigint, %L, %L)', u, a, r, k), code, NULL, format('adjust_balance: %s is %s', why, code))
  FROM (VALUES (tests.user_id('vic'), 0, 'correction', 'k', 'LP103', 'a zero amount'),
               (tests.user_id('vic'), NULL, 'correction', 'k', 'LP103', 'a NULL amount'),
               (tests.user_id('vic'), 100, NULL, 'k', 'LP018', 'a NULL reason'),
               (tests.user_id('vic'), 100, '   ', 'k', 'LP018', 'a blank reason'),
               (tests.user_id('vic'), 100, repeat('r', 1001), 'k', 'LP018', 'a 1001-character reason'),
               (tests.user_id('vic'), 100, 'correction', '', 'LP018', 'an empty idempotency key'),
               (tests.user_id('vic'), 100, 'correction', repeat('k', 129), 'LP018', 'a 129-character idempotency key'),
               (gen_random_uuid(), 100, 'correction', 'k', 'LP003', 'an unknown user'),
               (tests.user_id('gus'), 100, 'correction', 'k', 'LP003', 'a deleted user'),
               (NULL, 100, 'correction', 'k', 'LP003', 'a NULL user'),
               (tests.user_id('ada'), 100, 'correction', 'k', 'LP002', 'the acting admin''s own wallet')) AS v (u, a, r, k, code, why);
SELECT tests.clear_authentication();
SELECT tests.unchanged('rejected adjustments changed nothing (balances, ledger, adjustments, audit)');

-- == A credit =============================================================================================
SELECT tests.authenticate_as('ada');
SELECT tests.put('a1', api.adjust_balance(tests.user_id('vic'), 1000, '  goodwill credit for the outage of 1 May  ', 'a-1'));
SELECT tests.clear_authentication();
SELECT results_eq(format($$SELECT user_id, amount, reason, created_by, idempotency_key FROM lp.adjustments WHERE id = %L$$, tests.pid('a1')),
                  format($$VALUES (%L::uuid, 1000::bigint, 'goodwill credit for the outage of 1 May'::text, %L::uuid, 'a-1'::text)$$,
                         tests.user_id('vic'), tests.user_id('ada')),
                  'adjust_balance: the adjustment records user, amount, trimmed reason, admin and key');
SELECT is(tests.wallet_state('vic'), 'main=1000 reserved=0 shards=0 debt=false', 'a credit of 1000 lands on the user''s wallet');
SELECT is(tests.sys('adjustments'), -1000::bigint, '... and is the adjustments wallet''s -1000');
SELECT is(tests.adj_entries(tests.pid('a1')), 'adjustments adjustment -1000, vic adjustment 1000',
          'one ledger transaction (the adjustment''s transaction_id), entry kind adjustment, both legs');
SELECT results_eq($$SELECT actor_id, target_type, target_id, (details ->> 'amount')::bigint, details ->> 'reason', (details ->> 'adjustment_id')::uuid
                      FROM tests.last_audit('ledger.adjustment')$$,
                  format($$VALUES (%L::uuid, 'user'::text, %L::text, 1000::bigint, 'goodwill credit for the outage of 1 May'::text, %L::uuid)$$,
                         tests.user_id('ada'), tests.user_id('vic'), tests.pid('a1')),
                  'adjust_balance: audited as ledger.adjustment with amount and reason');
SELECT ok(tests.sound(), 'after the credit: every transaction sums to 0 and so do all balances');
SELECT tests.authenticate_as('ada');
SELECT is(to_jsonb(api.adjust_balance(tests.user_id('vic'), 1000, 'goodwill credit for the outage of 1 May', 'a-1')),
          (SELECT value FROM tests.ctx WHERE key = 'a1'), 'adjust_balance: a replay returns the original adjustment');
SELECT tests.authenticate_as('alex');
SELECT is((api.adjust_balance(tests.user_id('vic'), 1000, 'goodwill credit for the outage of 1 May', 'a-1')).id, tests.pid('a1'),
          'adjust_balance: the key is global: the same request by another admin is the same adjustment');
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, %s, %L, %L)', u, a, r, 'a-1'), 'LP106', NULL, format('adjust_balance: the key with %s is LP106', why))
  FROM (VALUES (tests.user_id('vic'), 999, 'goodwill credit for the outage of 1 May', 'another amount'),
               (tests.user_id('bob'), 1000, 'goodwill credit for the outage of 1 May', 'another user'),
               (tests.user_id('vic'), 1000, 'another reason', 'another reason')) AS v (u, a, r, why);
SELECT tests.clear_authentication();
SELECT tests.unchanged('replays changed nothing');

-- == Debits ===============================================================================================
SELECT tests.authenticate_as('ada');
SELECT tests.put('a2', api.adjust_balance(tests.user_id('vic'), -300, 'duplicate credit reversed', 'a-2'));
SELECT tests.clear_authentication();
SELECT is(tests.wallet_state('vic'), 'main=700 reserved=0 shards=0 debt=false', 'a debit of 300 leaves 700');
SELECT is(tests.adj_entries(tests.pid('a2')), 'adjustments adjustment 300, vic adjustment -300', 'a debit: user -300, adjustments +300');
SELECT is(tests.sys('adjustments'), -700::bigint, 'the adjustments wallet nets -700');
SELECT ok(tests.sound(), 'after the debit: the ledger sums to 0');
SELECT tests.snap();
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, -701, %L, %L)', tests.user_id('vic'), 'too much', 'a-3'), 'LP100', NULL,
                 'a debit larger than the balance is LP100 (no overdraft)');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and changed nothing (no adjustment row, no entry)');
SELECT tests.hold('vic', 'pam', 500);
SELECT tests.snap();
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, -300, %L, %L)', tests.user_id('vic'), 'correction', 'a-4'), 'LP100', NULL,
                 'a debit larger than the available balance (700 - 500 held) is LP100');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and changed nothing');
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.adjust_balance(%L, -200, %L, %L)', tests.user_id('vic'), 'correction', 'a-4'),
                'a debit of exactly the available 200 passes (and the refused call did not use up its key)');
SELECT tests.clear_authentication();
SELECT is(tests.wallet_state('vic'), 'main=500 reserved=500 shards=0 debt=false', 'the held tokens stay');

-- == A wallet in debt =====================================================================================
SELECT tests.push_into_debt('vic', 600);
SELECT is(tests.wallet_state('vic'), 'main=-100 reserved=500 shards=0 debt=true', 'fixture: a clawback left vic in debt');
SELECT tests.snap();
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, -10, %L, %L)', tests.user_id('vic'), 'correction', 'a-5'), 'LP107', NULL,
                 'a debit of a wallet in debt is LP107');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and changed nothing');
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.adjust_balance(%L, 700, %L, %L)', tests.user_id('vic'), 'debt forgiven', 'a-6'), 'an admin credits 700');
SELECT tests.clear_authentication();
SELECT is(tests.wallet_state('vic'), 'main=600 reserved=500 shards=0 debt=false', 'a credit that covers the reserved tokens settles the debt');
SELECT ok(tests.sound(), 'after the debt: the ledger sums to 0');

-- == A wallet with credit shards (a performer) ============================================================
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.adjust_balance(%L, 1000, %L, %L)', tests.user_id('bob'), 'promotion', 'a-7'), 'bob gets 1000 tokens');
SELECT tests.authenticate_as('bob');
SELECT lives_ok(format('SELECT api.tip(%L, 1000, %L)', tests.user_id('pam'), 't-1'), 'bob tips pam 1000 (she earns 800 after the fee)');
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.adjust_balance(%L, -500, %L, %L)', tests.user_id('pam'), 'tip reversed', 'a-8'), 'an admin debits pam 500');
SELECT tests.clear_authentication();
SELECT is(tests.wallet_state('pam'), 'main=300 reserved=0 shards=0 debt=false', 'a debit of a sharded wallet sweeps its shards first');
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.adjust_balance(%L, 100, %L, %L)', tests.user_id('pam'), 'bonus', 'a-9'), 'an admin credits pam 100');
SELECT tests.clear_authentication();
SELECT is(tests.wallet_state('pam'), 'main=300 reserved=0 shards=100 debt=false', 'a credit to a sharded wallet lands on a shard');
SELECT tests.push_into_debt('pam', 1000);
SELECT is(tests.wallet_state('pam'), 'main=-700 reserved=0 shards=100 debt=true', 'fixture: a clawback left pam in debt');
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.adjust_balance(%L, 900, %L, %L)', tests.user_id('pam'), 'settlement', 'a-10'), 'an admin credits pam 900');
SELECT tests.clear_authentication();
SELECT is(tests.wallet_state('pam'), 'main=300 reserved=0 shards=0 debt=false',
          'a credit settles a sharded wallet''s debt at once: -700 + 100 (swept) + 900 = 300');

-- == The service role with an admin acting ===============================================================
SELECT tests.authenticate_as('alex', 'livepanty_service');
SELECT lives_ok(format('SELECT api.adjust_balance(%L, 50, %L, %L)', tests.user_id('bob'), 'back-office correction', 'a-11'),
                'the service role may adjust with an admin acting');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.adjustments), 9::bigint, 'nine adjustments were made, none twice');
SELECT is(tests.sys('adjustments'), (SELECT -sum(amount) FROM lp.adjustments)::bigint, 'the adjustments wallet mirrors every adjustment');
SELECT ok(tests.sound(), 'at the end: every transaction sums to 0, every account''s chain ends at its balance, all balances sum to 0');
SELECT * FROM finish();
ROLLBACK;
