-- Admin adjustments: api.adjust_balance (admin only, mandatory reason, audited, idempotent), debits that may not
-- overdraw, wallets with holds, in debt and with credit shards, with every rejection and its SQLSTATE.
BEGIN;
SELECT plan(57);

-- ---------------------------------------------------------------------------------------------------------
-- Test helpers. The same block opens every tests/sql/test_*.sql file that acts as a platform user (the
-- harness sends each file as one query, so there is no \ir). They live in schema "tests", created in this
-- transaction and rolled back with it.
--   tests.password()                      the password of every user made by tests.create_user
--   tests.create_user(username, role)     a user through api.register_user / api.create_admin (moderators:
--                                         registered, then promoted directly); call as the superuser
--   tests.user_id(username)               the id of a user (the active one first); works under any role
--   tests.authenticate_as(username, role) for the rest of the transaction act as that platform user (NULL:
--                                         nobody) under a database role (default livepanty_app), like the
--                                         application does: SET LOCAL ROLE + set_config('lp.user_id', id, true)
--   tests.clear_authentication()          back to the superuser, nobody acting
-- pgTAP 1.x grants its bookkeeping temp table and sequences to PUBLIC in plan(), so assertions run fine
-- under livepanty_app / livepanty_readonly as long as plan() ran first (as the superuser). Query strings
-- passed to throws_ok, is_empty, set_eq, ... run under the role in force, which is what an RLS test wants.
-- ---------------------------------------------------------------------------------------------------------
CREATE SCHEMA tests;
GRANT USAGE ON SCHEMA tests TO PUBLIC;

CREATE FUNCTION tests.password() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'Tr0ub4dor&3x' $$;

CREATE FUNCTION tests.create_user(p_username text, p_role text DEFAULT 'viewer') RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    IF p_role = 'admin' THEN
        v_id := (api.create_admin(p_username || '@example.com', p_username, tests.password(), DATE '1990-01-01')).id;
    ELSE
        v_id := (api.register_user(p_username || '@example.com', p_username, tests.password(), DATE '1990-01-01',
                                   CASE WHEN p_role = 'performer' THEN 'performer' ELSE 'viewer' END)).id;
        IF p_role NOT IN ('viewer', 'performer') THEN
            UPDATE lp.users SET role = p_role WHERE id = v_id;
        END IF;
    END IF;
    RETURN v_id;
END
$$;

CREATE FUNCTION tests.user_id(p_username text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT u.id FROM lp.users AS u WHERE lower(u.username::text) = lower(p_username)
     ORDER BY u.deleted_at IS NULL DESC, u.created_at DESC LIMIT 1
$$;

CREATE FUNCTION tests.authenticate_as(p_username text, p_db_role text DEFAULT 'livepanty_app') RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tests.user_id(p_username);
BEGIN
    IF p_username IS NOT NULL AND v_id IS NULL THEN
        RAISE EXCEPTION 'tests.authenticate_as: no user %', p_username;
    END IF;
    PERFORM set_config('role', 'none', true);
    PERFORM set_config('lp.user_id', coalesce(v_id::text, ''), true);
    PERFORM set_config('lp.session_id', '', true);
    PERFORM set_config('role', p_db_role, true);
    RETURN format('# acting as %s through %s', coalesce(p_username, 'nobody'), p_db_role);
END
$$;

CREATE FUNCTION tests.clear_authentication() RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('lp.user_id', '', true);
    PERFORM set_config('lp.session_id', '', true);
    PERFORM set_config('role', 'none', true);
    RETURN '# back to the superuser, nobody acting';
END
$$;
-- ---------------------------------------------------------------------------------------------------------


-- Helpers of the token economy tests (SECURITY DEFINER: they read every row whatever role is in force).
--   tests.put(key, row) / tests.get(key, field) / tests.pid(key)   a scratch store for rows returned under other roles
--   tests.wallet(username)      the user's wallet id
--   tests.main(username)        main balance; tests.total(username): main + credit shards
--   tests.sys(code)             a system wallet's total, relative to the start of this file
--   tests.wallet_state(username) 'main=.. reserved=.. shards=.. debt=t|f'
--   tests.sound()               every transaction sums to 0, every account's last balance_after is its balance,
--                               and the sum of all balances (main and shards, users and system) is 0
--   tests.save() / tests.unchanged()  snapshot of balances, ledger, payments, adjustments, reports, audit,
--                               idempotency keys, tips, bundles and settings; unchanged() compares with it
CREATE TABLE tests.ctx (key text PRIMARY KEY, value jsonb NOT NULL);
GRANT ALL ON tests.ctx TO PUBLIC;
CREATE FUNCTION tests.put(p_key text, p_value anyelement) RETURNS text LANGUAGE sql AS $$
    INSERT INTO tests.ctx VALUES (p_key, to_jsonb(p_value)) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
    RETURNING '# ' || key
$$;
CREATE FUNCTION tests.get(p_key text, p_field text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT value ->> p_field FROM tests.ctx WHERE key = p_key
$$;
CREATE FUNCTION tests.pid(p_key text) RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT (value ->> 'id')::uuid FROM tests.ctx WHERE key = p_key
$$;
CREATE FUNCTION tests.wallet(p_username text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.id FROM lp.wallets AS w WHERE w.user_id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.main(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance FROM lp.wallets AS w WHERE w.user_id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.total(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)::bigint
      FROM lp.wallets AS w WHERE w.user_id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.wallet_state(p_username text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT format('main=%s reserved=%s shards=%s debt=%s', w.balance, w.reserved,
                  coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0),
                  (w.debt_since IS NOT NULL)::text)
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
CREATE FUNCTION tests.sound() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT (SELECT coalesce(sum(w.balance), 0) FROM lp.wallets AS w)
           + (SELECT coalesce(sum(s.balance), 0) FROM lp.wallet_shards AS s) = 0
       AND NOT EXISTS (SELECT 1 FROM lp.ledger AS e GROUP BY e.transaction_id HAVING sum(e.amount) <> 0)
       AND NOT EXISTS (
           SELECT 1
             FROM (SELECT DISTINCT ON (e.wallet_id, e.shard) e.wallet_id, e.shard, e.balance_after
                     FROM lp.ledger AS e ORDER BY e.wallet_id, e.shard, e.id DESC) AS l
             LEFT JOIN lp.wallets AS w ON w.id = l.wallet_id AND l.shard = 0
             LEFT JOIN lp.wallet_shards AS s ON s.wallet_id = l.wallet_id AND s.shard = l.shard
            WHERE l.balance_after IS DISTINCT FROM coalesce(w.balance, s.balance))
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
CREATE TABLE tests.saved (state text);
CREATE FUNCTION tests.save() RETURNS text
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    DELETE FROM tests.saved;
    INSERT INTO tests.saved SELECT tests.state();
    SELECT '# state saved'
$$;
CREATE FUNCTION tests.unchanged() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT tests.state() = (SELECT s.state FROM tests.saved AS s)
$$;
CREATE FUNCTION tests.last_audit(p_action text) RETURNS SETOF lp.audit_logs
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT a.* FROM lp.audit_logs AS a WHERE a.action = p_action ORDER BY a.id DESC LIMIT 1
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
SELECT tests.save();
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
SELECT ok(tests.unchanged(), 'rejected adjustments changed nothing (balances, ledger, adjustments, audit)');

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
SELECT tests.save();
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, %s, %L, %L)', u, a, r, 'a-1'), 'LP106', NULL, format('adjust_balance: the key with %s is LP106', why))
  FROM (VALUES (tests.user_id('vic'), 999, 'goodwill credit for the outage of 1 May', 'another amount'),
               (tests.user_id('bob'), 1000, 'goodwill credit for the outage of 1 May', 'another user'),
               (tests.user_id('vic'), 1000, 'another reason', 'another reason')) AS v (u, a, r, why);
SELECT tests.clear_authentication();
SELECT ok(tests.unchanged(), 'replays changed nothing');

-- == Debits ===============================================================================================
SELECT tests.authenticate_as('ada');
SELECT tests.put('a2', api.adjust_balance(tests.user_id('vic'), -300, 'duplicate credit reversed', 'a-2'));
SELECT tests.clear_authentication();
SELECT is(tests.wallet_state('vic'), 'main=700 reserved=0 shards=0 debt=false', 'a debit of 300 leaves 700');
SELECT is(tests.adj_entries(tests.pid('a2')), 'adjustments adjustment 300, vic adjustment -300', 'a debit: user -300, adjustments +300');
SELECT is(tests.sys('adjustments'), -700::bigint, 'the adjustments wallet nets -700');
SELECT ok(tests.sound(), 'after the debit: the ledger sums to 0');
SELECT tests.save();
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, -701, %L, %L)', tests.user_id('vic'), 'too much', 'a-3'), 'LP100', NULL,
                 'a debit larger than the balance is LP100 (no overdraft)');
SELECT tests.clear_authentication();
SELECT ok(tests.unchanged(), '... and changed nothing (no adjustment row, no entry)');
SELECT tests.hold('vic', 'pam', 500);
SELECT tests.save();
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, -300, %L, %L)', tests.user_id('vic'), 'correction', 'a-4'), 'LP100', NULL,
                 'a debit larger than the available balance (700 - 500 held) is LP100');
SELECT tests.clear_authentication();
SELECT ok(tests.unchanged(), '... and changed nothing');
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.adjust_balance(%L, -200, %L, %L)', tests.user_id('vic'), 'correction', 'a-4'),
                'a debit of exactly the available 200 passes (and the refused call did not use up its key)');
SELECT tests.clear_authentication();
SELECT is(tests.wallet_state('vic'), 'main=500 reserved=500 shards=0 debt=false', 'the held tokens stay');

-- == A wallet in debt =====================================================================================
SELECT tests.push_into_debt('vic', 600);
SELECT is(tests.wallet_state('vic'), 'main=-100 reserved=500 shards=0 debt=true', 'fixture: a clawback left vic in debt');
SELECT tests.save();
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.adjust_balance(%L, -10, %L, %L)', tests.user_id('vic'), 'correction', 'a-5'), 'LP107', NULL,
                 'a debit of a wallet in debt is LP107');
SELECT tests.clear_authentication();
SELECT ok(tests.unchanged(), '... and changed nothing');
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
