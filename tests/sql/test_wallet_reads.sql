-- Wallet reads: api.get_wallet, api.wallet_history (keyset pagination), api.balance_at, and the sweep job
-- api.sweep_wallets, with every rejection and its SQLSTATE. Calls run as livepanty_app (livepanty_service for
-- the job) with the acting user set for the transaction (tests.authenticate_as); money moves through api.tip
-- or, for funding, lp.post from the issuance wallet as the superuser.
BEGIN;
SELECT plan(65);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   10_scratch.sql:  tests.put
--   20_money.sql:    tests.wallet, tests.fund (n tokens from issuance to the user)

-- Helpers of this file.
CREATE FUNCTION tests.get(p_key text) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT value FROM tests.ctx WHERE key = p_key
$$;
-- A tip through api.tip as the sender (livepanty_app); back to the superuser afterwards.
CREATE FUNCTION tests.tip(p_from text, p_to text, p_amount bigint) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    PERFORM tests.authenticate_as(p_from);
    v_id := (api.tip(tests.user_id(p_to), p_amount, gen_random_uuid()::text)).id;
    PERFORM tests.clear_authentication();
    RETURN v_id;
END
$$;
-- One ledger entry at a given time that continues the account's chain and keeps its balance in step (a
-- synthetic history for api.balance_at: inside one test transaction every real entry has the same created_at).
CREATE FUNCTION tests.book(p_tx uuid, p_wallet uuid, p_shard integer, p_amount bigint, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_before bigint;
BEGIN
    SELECT coalesce((SELECT l.balance_after FROM lp.ledger AS l WHERE l.wallet_id = p_wallet AND l.shard = p_shard
                      ORDER BY l.id DESC LIMIT 1), 0) INTO v_before;
    INSERT INTO lp.ledger (transaction_id, wallet_id, shard, amount, balance_before, balance_after, entry_kind,
                           reference_type, reference_id, created_at)
    VALUES (p_tx, p_wallet, p_shard, p_amount, v_before, v_before + p_amount, 'adjustment', 'adjustment', p_tx, p_at);
    IF p_shard = 0 THEN
        UPDATE lp.wallets SET balance = balance + p_amount WHERE id = p_wallet;
    ELSE
        UPDATE lp.wallet_shards SET balance = balance + p_amount WHERE wallet_id = p_wallet AND shard = p_shard;
    END IF;
END
$$;
-- Every page of a user's history (as the role in force), page size p_limit: (page, position, id).
CREATE FUNCTION tests.all_pages(p_username text, p_limit integer)
RETURNS TABLE (page integer, pos integer, id bigint) LANGUAGE plpgsql AS $$
DECLARE
    v_before bigint;
    v_ids    bigint[];
BEGIN
    page := 0;
    LOOP
        SELECT array_agg(h.id ORDER BY h.ord) INTO v_ids
          FROM api.wallet_history(tests.user_id(p_username), v_before, p_limit) WITH ORDINALITY AS h (id, transaction_id, shard, amount, balance_before, balance_after, entry_kind, reference_type, reference_id, description, created_at, ord);
        EXIT WHEN v_ids IS NULL;
        page := page + 1;
        FOR pos IN 1 .. cardinality(v_ids) LOOP
            id := v_ids[pos];
            RETURN NEXT;
        END LOOP;
        v_before := v_ids[cardinality(v_ids)];
        EXIT WHEN page > 100;
    END LOOP;
END
$$;
-- Ids of a wallet's entries, newest first (as the superuser).
CREATE FUNCTION tests.entry_ids(p_username text) RETURNS bigint[]
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce(array_agg(l.id ORDER BY l.id DESC), '{}') FROM lp.ledger AS l WHERE l.wallet_id = tests.wallet(p_username)
$$;

CREATE TABLE tests.pages (page integer, pos integer, id bigint);
GRANT ALL ON tests.pages TO PUBLIC;

-- == Fixture ===============================================================================================
DO $$
BEGIN
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('victor');
    PERFORM tests.create_user('dora');
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('pete', 'performer');
    PERFORM tests.create_user('tim', 'performer');
    PERFORM tests.fund('vera', 10000);
    PERFORM tests.fund('victor', 5000);
END
$$;

-- == api.get_wallet ========================================================================================
SELECT tests.authenticate_as('vera');
SELECT results_eq($$SELECT wallet_id, user_id, balance, pending_credits, total, reserved, available, in_debt, debt_since,
                           currency, tokens_per_unit, value_minor FROM api.get_wallet()$$,
                  format($$VALUES (%L::uuid, %L::uuid, 10000::bigint, 0::bigint, 10000::bigint, 0::bigint, 10000::bigint,
                                   false, NULL::timestamptz, 'USD', 100, 10000::bigint)$$,
                         tests.wallet('vera'), tests.user_id('vera')),
                  'get_wallet(): the acting user''s own wallet (10000 tokens at 100 per USD = 10000 cents)');
SELECT results_eq(format('SELECT total FROM api.get_wallet(%L)', tests.user_id('vera')), $$VALUES (10000::bigint)$$,
                  'get_wallet(own id) works too');
SELECT throws_ok(format('SELECT * FROM api.get_wallet(%L)', tests.user_id('victor')), 'LP003', NULL,
                 'get_wallet: a viewer asking for another user''s wallet is LP003');
SELECT tests.authenticate_as('mona');
SELECT throws_ok(format('SELECT * FROM api.get_wallet(%L)', tests.user_id('vera')), 'LP003', NULL,
                 'get_wallet: a moderator cannot read other wallets either (LP003)');
SELECT tests.authenticate_as('pia');
SELECT throws_ok(format('SELECT * FROM api.get_wallet(%L)', tests.user_id('vera')), 'LP003', NULL,
                 'get_wallet: a performer cannot read a viewer''s wallet (LP003)');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT * FROM api.get_wallet()$$, 'LP001', NULL, 'get_wallet: nobody acting is LP001');
SELECT tests.authenticate_as('adam');
SELECT results_eq(format('SELECT wallet_id, total FROM api.get_wallet(%L)', tests.user_id('victor')),
                  format('VALUES (%L::uuid, 5000::bigint)', tests.wallet('victor')),
                  'get_wallet: an admin reads any user''s wallet');
SELECT throws_ok(format('SELECT * FROM api.get_wallet(%L)', gen_random_uuid()), 'LP003', NULL,
                 'get_wallet: an unknown user is LP003 (for an admin too)');
SELECT tests.authenticate_as('vera', 'livepanty_readonly');
SELECT throws_ok($$SELECT * FROM api.get_wallet()$$, '42501', NULL, 'get_wallet: livepanty_readonly may not execute it');
SELECT tests.clear_authentication();

-- Credits of a performer wait in the credit shards: pending, part of the total and of what can be spent.
SELECT tests.put('tip1', tests.tip('vera', 'pia', 1000));
SELECT tests.authenticate_as('pia');
SELECT results_eq($$SELECT balance, pending_credits, total, reserved, available, in_debt, value_minor FROM api.get_wallet()$$,
                  $$VALUES (0::bigint, 800::bigint, 800::bigint, 0::bigint, 800::bigint, false, 800::bigint)$$,
                  'get_wallet: a performer''s tip (1000 - 20% fee) is a pending credit in a shard, counted in total and available');
SELECT tests.authenticate_as('vera');
SELECT results_eq($$SELECT balance, pending_credits, total, available FROM api.get_wallet()$$,
                  $$VALUES (9000::bigint, 0::bigint, 9000::bigint, 9000::bigint)$$,
                  'get_wallet: the sender''s main balance went down by the tip');
SELECT tests.clear_authentication();

-- Reserved tokens and the rate: value_minor rounds down (towards minus infinity in debt).
UPDATE lp.wallets SET reserved = 1500 WHERE id = tests.wallet('victor');
UPDATE lp.wallets SET tokens_per_unit = 30 WHERE id = tests.wallet('victor');
UPDATE lp.wallets SET balance = -7, tokens_per_unit = 30, debt_since = now() - interval '1 day' WHERE id = tests.wallet('dora');
SELECT tests.authenticate_as('victor');
SELECT results_eq($$SELECT balance, reserved, available, tokens_per_unit, value_minor FROM api.get_wallet()$$,
                  $$VALUES (5000::bigint, 1500::bigint, 3500::bigint, 30, 16666::bigint)$$,
                  'get_wallet: available = total - reserved; 5000 tokens at 30 per USD = 16666 cents (rounded down)');
SELECT tests.authenticate_as('dora');
SELECT results_eq($$SELECT balance, total, available, in_debt, debt_since = now() - interval '1 day', value_minor FROM api.get_wallet()$$,
                  $$VALUES (-7::bigint, -7::bigint, -7::bigint, true, true, -24::bigint)$$,
                  'get_wallet: a wallet in debt shows in_debt, debt_since and a negative value rounded down (-7 * 100 / 30 -> -24)');
SELECT tests.clear_authentication();
UPDATE lp.wallets SET reserved = 0, tokens_per_unit = 100 WHERE id = tests.wallet('victor');
UPDATE lp.wallets SET balance = 0, tokens_per_unit = 100, debt_since = NULL WHERE id = tests.wallet('dora');

-- == api.wallet_history ====================================================================================
-- vera: 1 purchase + 1 tip so far; 19 more tips -> 21 entries.
DO $$
BEGIN
    FOR i IN 1 .. 19 LOOP
        PERFORM tests.tip('vera', CASE WHEN i % 2 = 0 THEN 'pia' ELSE 'pete' END, i * 10);
    END LOOP;
END
$$;
SELECT is(cardinality(tests.entry_ids('vera')), 21, 'fixture: vera''s wallet has 21 ledger entries');

SELECT tests.authenticate_as('vera');
SELECT results_eq($$SELECT id, transaction_id, shard, amount, balance_before, balance_after, entry_kind, reference_type,
                           reference_id, description, created_at FROM api.wallet_history(NULL, NULL, 5)$$,
                  $$SELECT l.id, l.transaction_id, l.shard, l.amount, l.balance_before, l.balance_after, l.entry_kind,
                           l.reference_type, l.reference_id, l.description, l.created_at
                      FROM lp.ledger AS l WHERE l.wallet_id = tests.wallet('vera') ORDER BY l.id DESC LIMIT 5$$,
                  'wallet_history: the first page is the 5 newest entries, newest first, every column');
SELECT results_eq($$SELECT amount, balance_before, balance_after, entry_kind, reference_type FROM api.wallet_history() ORDER BY id LIMIT 2$$,
                  $$VALUES (10000::bigint, 0::bigint, 10000::bigint, 'purchase', 'payment'),
                           (-1000::bigint, 10000::bigint, 9000::bigint, 'tip', 'tip')$$,
                  'wallet_history: entries carry amount, before/after balances, kind and reference');
SELECT is((SELECT count(*) FROM api.wallet_history()), 21::bigint, 'wallet_history: the default limit (50) covers all 21 entries');

-- Every page of 5: no entry twice, none missing, in order.
INSERT INTO tests.pages SELECT * FROM tests.all_pages('vera', 5);
SELECT is((SELECT max(page) FROM tests.pages), 5, 'wallet_history: 21 entries make 5 pages of 5 (the last has 1)');
SELECT is((SELECT array_agg(id ORDER BY page, pos) FROM tests.pages), tests.entry_ids('vera'),
          'wallet_history: the pages together are every entry exactly once, newest first (no overlap, no gap)');
SELECT is((SELECT array_agg(n ORDER BY page) FROM (SELECT page, count(*)::integer AS n FROM tests.pages GROUP BY page) AS p),
          ARRAY[5, 5, 5, 5, 1], 'wallet_history: page sizes 5, 5, 5, 5, 1');
SELECT is_empty(format('SELECT * FROM api.wallet_history(NULL, %s, 5)', (SELECT min(id) FROM tests.pages)),
                'wallet_history: the page after the oldest entry is empty');

-- New entries arrive between two pages: the next page goes on exactly where the previous one ended.
SELECT tests.put('page1', (SELECT array_agg(id ORDER BY id DESC) FROM api.wallet_history(NULL, NULL, 5)));
SELECT tests.clear_authentication();
SELECT tests.put('expected_page2', (tests.entry_ids('vera'))[6:10]);
SELECT tests.tip('vera', 'pia', 7);
SELECT tests.tip('vera', 'pete', 8);
SELECT tests.tip('vera', 'pia', 9);
SELECT tests.authenticate_as('vera');
SELECT is((SELECT array_agg(id ORDER BY id DESC) FROM api.wallet_history(NULL, (SELECT min(x::bigint) FROM jsonb_array_elements_text(tests.get('page1')) AS x), 5)),
          (SELECT array_agg(x::bigint) FROM jsonb_array_elements_text(tests.get('expected_page2')) AS x),
          'wallet_history: after 3 new entries, the second page (before the first page''s smallest id) neither repeats nor skips');
SELECT is((SELECT array_agg(amount ORDER BY id DESC) FROM api.wallet_history(NULL, NULL, 3)), ARRAY[-9, -8, -7]::bigint[],
          'wallet_history: a fresh first page starts with the new entries');

SELECT throws_ok($$SELECT * FROM api.wallet_history(NULL, NULL, 0)$$, 'LP018', NULL, 'wallet_history: limit 0 is LP018');
SELECT throws_ok($$SELECT * FROM api.wallet_history(NULL, NULL, 501)$$, 'LP018', NULL, 'wallet_history: limit 501 is LP018');
SELECT throws_ok($$SELECT * FROM api.wallet_history(NULL, NULL, NULL)$$, 'LP018', NULL, 'wallet_history: a NULL limit is LP018');
SELECT throws_ok($$SELECT * FROM api.wallet_history(NULL, 0, 5)$$, 'LP018', NULL, 'wallet_history: before_id 0 is LP018');
SELECT is((SELECT count(*) FROM api.wallet_history(NULL, NULL, 500)), 24::bigint, 'wallet_history: limit 500 is allowed');
SELECT throws_ok(format('SELECT * FROM api.wallet_history(%L)', tests.user_id('victor')), 'LP003', NULL,
                 'wallet_history: another user''s history is LP003');
SELECT tests.authenticate_as('mona');
SELECT throws_ok(format('SELECT * FROM api.wallet_history(%L)', tests.user_id('vera')), 'LP003', NULL,
                 'wallet_history: a moderator cannot read other users'' history (LP003)');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT * FROM api.wallet_history()$$, 'LP001', NULL, 'wallet_history: nobody acting is LP001');
SELECT tests.authenticate_as('adam');
SELECT is((SELECT count(*) FROM api.wallet_history(tests.user_id('vera'), NULL, 500)), 24::bigint,
          'wallet_history: an admin reads any user''s history');
SELECT throws_ok(format('SELECT * FROM api.wallet_history(%L)', gen_random_uuid()), 'LP003', NULL,
                 'wallet_history: an unknown user is LP003');

-- A performer's history has the entries of every account: tips land on credit shards.
SELECT tests.authenticate_as('pia');
SELECT results_eq($$SELECT shard > 0, amount, balance_after - balance_before, entry_kind FROM api.wallet_history() ORDER BY id LIMIT 1$$,
                  $$VALUES (true, 800::bigint, 800::bigint, 'tip')$$,
                  'wallet_history: a performer''s tip income is on a credit shard (shard > 0), net of the fee');
SELECT tests.clear_authentication();

-- The page is read from ledger_account_chain_idx (wallet_id, shard, id), never by scanning the ledger: give the
-- planner a ledger of some size (4000 entries of another wallet) and statistics, then count the scans.
INSERT INTO lp.ledger (transaction_id, wallet_id, shard, amount, balance_before, balance_after, entry_kind,
                       reference_type, reference_id)
SELECT md5(g::text)::uuid, lp.system_wallet('adjustments'), s.shard, s.sign, s.sign * (g - 1), s.sign * g,
       'adjustment', 'adjustment', md5(g::text)::uuid
  FROM generate_series(1, 2000) AS g, (VALUES (14::smallint, 1::bigint), (15::smallint, -1::bigint)) AS s (shard, sign)
 ORDER BY g, s.shard;
UPDATE lp.wallet_shards SET balance = CASE shard WHEN 14 THEN 2000 ELSE -2000 END
 WHERE wallet_id = lp.system_wallet('adjustments') AND shard IN (14, 15);
ANALYZE lp.ledger;
-- The ledger is partitioned by month: scans are counted on the partitions (leaves) and their indexes (the
-- parent's own counters stay 0). ANALYZE above gave every partition its reltuples.
SELECT tests.put('scans', jsonb_build_array(
    (SELECT sum(pg_stat_get_xact_numscans(t.relid)) FROM pg_partition_tree('lp.ledger_account_chain_idx') AS t
      WHERE t.isleaf),
    (SELECT sum(pg_stat_get_xact_numscans(t.relid)) FROM pg_partition_tree('lp.ledger') AS t
       JOIN pg_class AS c ON c.oid = t.relid WHERE t.isleaf AND c.reltuples > 0)));
SELECT tests.authenticate_as('vera');
SELECT is((SELECT count(*) FROM api.wallet_history(NULL, NULL, 10)), 10::bigint, 'wallet_history: a page of 10');
SELECT tests.clear_authentication();
SELECT ok((SELECT sum(pg_stat_get_xact_numscans(t.relid)) FROM pg_partition_tree('lp.ledger_account_chain_idx') AS t
            WHERE t.isleaf) > (tests.get('scans') ->> 0)::bigint,
          'wallet_history: the page was read through ledger_account_chain_idx (wallet_id, shard, id)');
-- (Empty partitions, the months ahead and the default one, may be read whole: there is nothing to read.)
SELECT is((SELECT sum(pg_stat_get_xact_numscans(t.relid)) FROM pg_partition_tree('lp.ledger') AS t
             JOIN pg_class AS c ON c.oid = t.relid WHERE t.isleaf AND c.reltuples > 0),
          (tests.get('scans') ->> 1)::numeric, 'wallet_history: no sequential scan of a non-empty ledger partition');

-- == api.balance_at ========================================================================================
-- A synthetic history of tim (a performer: main balance + 8 credit shards), counterpart the adjustments wallet:
--   2024-01-01  main +500                       total  500
--   2024-02-01  shard 1 +300, shard 2 +200      total 1000 (main 500, shards 500)
--   2024-03-01  sweep: shards -300 -200, main +500   total 1000 (main 1000)
--   2024-04-01  main -100                       total  900
DO $$
DECLARE
    v_tim uuid := tests.wallet('tim');
    v_adj uuid := lp.system_wallet('adjustments');
    v_tx  uuid;
BEGIN
    v_tx := gen_random_uuid();
    PERFORM tests.book(v_tx, v_tim, 0, 500, '2024-01-01 10:00:00Z');
    PERFORM tests.book(v_tx, v_adj, 16, -500, '2024-01-01 10:00:00Z');
    v_tx := gen_random_uuid();
    PERFORM tests.book(v_tx, v_tim, 1, 300, '2024-02-01 10:00:00Z');
    PERFORM tests.book(v_tx, v_tim, 2, 200, '2024-02-01 10:00:00Z');
    PERFORM tests.book(v_tx, v_adj, 16, -500, '2024-02-01 10:00:00Z');
    v_tx := gen_random_uuid();
    PERFORM tests.book(v_tx, v_tim, 1, -300, '2024-03-01 10:00:00Z');
    PERFORM tests.book(v_tx, v_tim, 2, -200, '2024-03-01 10:00:00Z');
    PERFORM tests.book(v_tx, v_tim, 0, 500, '2024-03-01 10:00:00Z');
    v_tx := gen_random_uuid();
    PERFORM tests.book(v_tx, v_tim, 0, -100, '2024-04-01 10:00:00Z');
    PERFORM tests.book(v_tx, v_adj, 16, 100, '2024-04-01 10:00:00Z');
END
$$;
SELECT tests.authenticate_as('tim');
SELECT is(api.balance_at(NULL, '2023-12-31 00:00:00Z'), 0::bigint, 'balance_at: before the first entry: 0');
SELECT is(api.balance_at(NULL, '2024-01-01 09:59:59.999999Z'), 0::bigint, 'balance_at: a microsecond before the first entry: 0');
SELECT is(api.balance_at(NULL, '2024-01-01 10:00:00Z'), 500::bigint, 'balance_at: at the first entry''s time (inclusive): 500');
SELECT is(api.balance_at(NULL, '2024-01-15 00:00:00Z'), 500::bigint, 'balance_at: between entries: 500');
SELECT is(api.balance_at(NULL, '2024-02-15 00:00:00Z'), 1000::bigint, 'balance_at: main 500 + shards 300 + 200 = 1000');
SELECT is(api.balance_at(NULL, '2024-03-01 10:00:00Z'), 1000::bigint, 'balance_at: right after the sweep: still 1000 (all on main)');
SELECT is(api.balance_at(NULL, '2024-03-15 00:00:00Z'), 1000::bigint, 'balance_at: after the sweep: 1000');
SELECT is(api.balance_at(tests.user_id('tim'), '2024-04-02 00:00:00Z'), 900::bigint, 'balance_at (own id): after the debit: 900');
SELECT is(api.balance_at(NULL, now()), (SELECT total FROM api.get_wallet()), 'balance_at(now()) equals get_wallet''s total');
SELECT throws_ok($$SELECT api.balance_at(NULL, NULL)$$, 'LP018', NULL, 'balance_at: a missing time is LP018');
SELECT throws_ok($$SELECT api.balance_at(NULL, 'infinity')$$, 'LP018', NULL, 'balance_at: an infinite time is LP018');
SELECT throws_ok(format('SELECT api.balance_at(%L, now())', tests.user_id('vera')), 'LP003', NULL,
                 'balance_at: another user''s wallet is LP003');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT api.balance_at(NULL, now())$$, 'LP001', NULL, 'balance_at: nobody acting is LP001');
SELECT tests.authenticate_as('adam');
SELECT is(api.balance_at(tests.user_id('tim'), '2024-02-15 00:00:00Z'), 1000::bigint, 'balance_at: an admin reads any wallet''s past balance');
-- Real operations of this transaction are all stamped with its start time (now()).
SELECT is(api.balance_at(tests.user_id('pia'), now()), (SELECT total FROM api.get_wallet(tests.user_id('pia'))),
          'balance_at(now()) of a performer counts the tips waiting in the credit shards');
SELECT is(api.balance_at(tests.user_id('vera'), now() - interval '1 microsecond'), 0::bigint,
          'balance_at: before this transaction''s entries, vera had nothing');
SELECT tests.clear_authentication();

-- == api.sweep_wallets =====================================================================================
CREATE TABLE tests.totals_before AS
SELECT u.username, w.balance, (SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id) AS shards
  FROM lp.wallets AS w JOIN lp.users AS u ON u.id = w.user_id;
CREATE TABLE tests.system_shards_before AS
SELECT s.* FROM lp.wallet_shards AS s JOIN lp.wallets AS w ON w.id = s.wallet_id WHERE w.kind = 'system';
SELECT tests.put('ledger_count', (SELECT count(*) FROM lp.ledger));
SELECT tests.put('ledger_max', (SELECT max(id) FROM lp.ledger));

SELECT tests.authenticate_as(NULL, 'livepanty_app');
SELECT throws_ok($$SELECT api.sweep_wallets()$$, '42501', NULL, 'sweep_wallets: livepanty_app may not run the job');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok($$SELECT api.sweep_wallets(0)$$, 'LP018', NULL, 'sweep_wallets: limit 0 is LP018');
SELECT throws_ok($$SELECT api.sweep_wallets(NULL)$$, 'LP018', NULL, 'sweep_wallets: a NULL limit is LP018');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.ledger), (tests.get('ledger_count'))::bigint, 'sweep_wallets: the rejections wrote nothing');

-- pia and pete hold credits in shards (tips), tim's shards are empty (swept above).
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.sweep_wallets(1), 1, 'sweep_wallets(1): one wallet swept');
SELECT is(api.sweep_wallets(), 1, 'sweep_wallets(): the other wallet with credits swept');
SELECT is(api.sweep_wallets(), 0, 'sweep_wallets(): nothing left to sweep');
SELECT tests.clear_authentication();

SELECT is_empty($$SELECT s.* FROM lp.wallet_shards AS s JOIN lp.wallets AS w ON w.id = s.wallet_id
                   WHERE w.kind = 'user' AND s.balance <> 0$$,
                'sweep_wallets: every user credit shard is empty');
SELECT set_eq($$SELECT u.username, w.balance FROM lp.wallets AS w JOIN lp.users AS u ON u.id = w.user_id$$,
              $$SELECT username, balance + coalesce(shards, 0) FROM tests.totals_before$$,
              'sweep_wallets: each main balance now holds the wallet''s former total (nothing created or lost)');
SELECT set_eq($$SELECT s.* FROM lp.wallet_shards AS s JOIN lp.wallets AS w ON w.id = s.wallet_id WHERE w.kind = 'system'$$,
              $$SELECT * FROM tests.system_shards_before$$,
              'sweep_wallets: system wallets are not swept');
SELECT results_eq($$SELECT count(DISTINCT l.transaction_id), sum(l.amount), bool_and(l.entry_kind = 'sweep')
                      FROM lp.ledger AS l WHERE l.id > (tests.get('ledger_max'))::bigint$$,
                  $$VALUES (2::bigint, 0::numeric, true)$$,
                  'sweep_wallets: one balanced sweep transaction per wallet');
SELECT tests.authenticate_as('pia');
SELECT results_eq($$SELECT pending_credits, balance = total FROM api.get_wallet()$$, $$VALUES (0::bigint, true)$$,
                  'sweep_wallets: get_wallet shows no pending credits after the sweep');

SELECT * FROM finish();
ROLLBACK;
