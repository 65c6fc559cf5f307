-- Ledger verification: api.verify_ledger finds nothing on a ledger built by real operations (purchases through
-- lp.post, tips through api.tip, a hold captured through lp.post, a clawback into debt, sweeps) and DETECTS
-- each kind of deliberately corrupted data, one row per violation with its check_name; api.ledger_totals and
-- api.ledger_stats (chunked verification gives exactly the rows of a full one); who may call them.
-- The corruptions are made as the superuser with the append-only trigger disabled (and, where a constraint
-- would refuse the corruption, that constraint dropped) inside this rolled-back transaction, and undone
-- one by one so that each assertion sees exactly one corruption.
BEGIN;
SELECT plan(60);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   10_scratch.sql:  tests.put
--   20_money.sql:    tests.wallet

-- Helpers of this file.
CREATE FUNCTION tests.uuid(p_key text) RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT (value #>> '{}')::uuid FROM tests.ctx WHERE key = p_key
$$;
CREATE FUNCTION tests.system_wallet(p_code text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT lp.system_wallet(p_code)
$$;
-- Buys p_amount tokens for a user: issuance -> wallet, through lp.post (call as the superuser).
CREATE FUNCTION tests.fund_tx(p_username text, p_amount bigint) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    v_tx uuid := gen_random_uuid();
BEGIN
    PERFORM lp.post(v_tx, 'payment', gen_random_uuid(),
                    ARRAY[ROW(lp.system_wallet('issuance'), -p_amount, 'purchase', 0, false)::lp.posting,
                          ROW(tests.wallet(p_username), p_amount, 'purchase', 0, false)::lp.posting]);
    RETURN v_tx;
END
$$;
-- A tip through api.tip as the sender (livepanty_app); back to the superuser afterwards. Returns the tip.
CREATE FUNCTION tests.tip(p_from text, p_to text, p_amount bigint) RETURNS lp.tips LANGUAGE plpgsql AS $$
DECLARE
    v_tip lp.tips;
BEGIN
    PERFORM tests.authenticate_as(p_from);
    v_tip := api.tip(tests.user_id(p_to), p_amount, gen_random_uuid()::text);
    PERFORM tests.clear_authentication();
    RETURN v_tip;
END
$$;
-- The smallest wallet id among a transaction's entries (transaction_unbalanced reports the transaction there).
CREATE FUNCTION tests.first_wallet(p_tx uuid) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT l.wallet_id FROM lp.ledger AS l WHERE l.transaction_id = p_tx ORDER BY l.wallet_id LIMIT 1
$$;
-- The last ledger entry's transaction of an account.
CREATE FUNCTION tests.last_tx(p_wallet uuid, p_shard integer) RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT l.transaction_id FROM lp.ledger AS l WHERE l.wallet_id = p_wallet AND l.shard = p_shard ORDER BY l.id DESC LIMIT 1
$$;
-- What verify_ledger reports, without the free-text detail (as the role in force).
CREATE FUNCTION tests.violations() RETURNS TABLE (check_name text, wallet_id uuid, shard smallint, transaction_id uuid)
    LANGUAGE sql AS $$
    SELECT v.check_name, v.wallet_id, v.shard, v.transaction_id FROM api.verify_ledger() AS v
$$;
-- A whole verification chunk by chunk, as a client with a progress bar runs it: the account pass in the
-- chunks of ledger_stats (the global check with the last one), the transaction pass in the periods of
-- ledger_periods. (Every entry of this file's fixture is written in one transaction, so at one time: the
-- periods split nothing here; tests/py/test_cli_economy.py verifies a ledger of many times period by period.)
CREATE FUNCTION tests.verify_chunked(p_chunk_wallets integer)
RETURNS TABLE (check_name text, wallet_id uuid, shard smallint, transaction_id uuid, detail text) LANGUAGE plpgsql AS $$
DECLARE
    v_chunk  record;
    v_period record;
    v_last   integer;
BEGIN
    SELECT max(s.chunk) INTO v_last FROM api.ledger_stats(p_chunk_wallets) AS s;
    FOR v_chunk IN SELECT * FROM api.ledger_stats(p_chunk_wallets) AS s ORDER BY s.chunk LOOP
        RETURN QUERY SELECT * FROM api.verify_ledger(v_chunk.wallet_from, v_chunk.wallet_to, v_chunk.chunk = v_last,
                                                     p_transactions => false);
    END LOOP;
    FOR v_period IN SELECT * FROM api.ledger_periods(1) AS p ORDER BY p.period LOOP
        RETURN QUERY SELECT * FROM api.verify_ledger_period(v_period.period_from, v_period.period_to);
    END LOOP;
END
$$;

-- == Fixture: a ledger built by real operations ============================================================
DO $$
DECLARE
    v_hold    uuid;
    v_capture uuid := gen_random_uuid();
    v_tip     lp.tips;
BEGIN
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('victor');
    PERFORM tests.create_user('dora');
    PERFORM tests.create_user('dan');
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('pete', 'performer');
    PERFORM tests.put('vera_fund', tests.fund_tx('vera', 10000));
    PERFORM tests.put('victor_fund1', tests.fund_tx('victor', 5000));
    PERFORM tests.put('victor_fund2', tests.fund_tx('victor', 700));
    PERFORM tests.fund_tx('dora', 30);
    v_tip := tests.tip('vera', 'pia', 1000);
    PERFORM tests.put('tipA', v_tip.id), tests.put('tipA_tx', v_tip.transaction_id);
    v_tip := tests.tip('vera', 'pia', 500);
    PERFORM tests.put('tipB', v_tip.id), tests.put('tipB_tx', v_tip.transaction_id);
    v_tip := tests.tip('vera', 'pete', 250);
    PERFORM tests.put('tipC', v_tip.id), tests.put('tipC_tx', v_tip.transaction_id);
    PERFORM tests.tip('vera', 'pete', 3);  -- fee 0: a tip without a fee leg
    PERFORM tests.tip('dora', 'pia', 30);  -- dora spends everything she bought
    -- The sweep job moves pete's credits to his main balance (pia keeps hers in the shards).
    PERFORM lp.sweep_wallet(tests.wallet('pete'));
    -- victor reserves 300 for pia (a hold places no ledger entry), and pia captures 100 of it (fee 20).
    INSERT INTO lp.holds (user_id, wallet_id, payee_id, purpose, amount, expires_at, idempotency_key)
    VALUES (tests.user_id('victor'), tests.wallet('victor'), tests.user_id('pia'), 'private_show', 300,
            now() + interval '1 hour', 'hold-1')
    RETURNING id INTO v_hold;
    UPDATE lp.wallets SET reserved = reserved + 300 WHERE id = tests.wallet('victor');
    INSERT INTO lp.hold_captures (hold_id, amount, fee_amount, transaction_id, idempotency_key)
    VALUES (v_hold, 100, lp.fee_for(100), v_capture, 'capture-1');
    UPDATE lp.holds SET captured = 100 WHERE id = v_hold;
    PERFORM lp.post(v_capture, 'hold', v_hold,
        ARRAY[ROW(tests.wallet('victor'), -100, 'hold_capture', 100, false)::lp.posting,
              ROW(tests.wallet('pia'), 100 - lp.fee_for(100), 'hold_capture', 0, false)::lp.posting,
              ROW(lp.system_wallet('platform_fees'), lp.fee_for(100), 'hold_fee', 0, false)::lp.posting]);
    PERFORM tests.put('hold', v_hold), tests.put('capture_tx', v_capture);
    -- A clawback of 80 from dora, who has spent her 30 tokens: her wallet goes into recorded debt (-80).
    PERFORM lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
        ARRAY[ROW(tests.wallet('dora'), -80, 'refund', 0, true)::lp.posting,
              ROW(lp.system_wallet('issuance'), 80, 'refund', 0, false)::lp.posting]);
END
$$;
SELECT results_eq($$SELECT balance, reserved, debt_since IS NOT NULL FROM lp.wallets WHERE id IN (tests.wallet('victor'), tests.wallet('dora')) ORDER BY balance$$,
                  $$VALUES (-80::bigint, 0::bigint, true), (5600::bigint, 200::bigint, false)$$,
                  'fixture: dora is in recorded debt (-80); victor has 200 reserved by his open hold');

-- == A clean ledger: nothing to report =====================================================================
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$,
                'verify_ledger (service role, nobody acting): a ledger built by real operations has no violation');
SELECT results_eq($$SELECT issued, burned, circulating, in_user_wallets, in_system_wallets, imbalance FROM api.ledger_totals()$$,
                  $$VALUES (15730::bigint, 80::bigint, 15650::bigint, 15650::bigint - 376, 376::bigint, 0::bigint)$$,
                  'ledger_totals: issued 15730, burned 80 (the clawback), fees 200 + 100 + 50 + 0 + 6 + 20 = 376 in the system wallets, the rest with users, imbalance 0');
SELECT is_empty($$SELECT * FROM tests.verify_chunked(1)$$, 'verify_ledger chunk by chunk (one wallet per chunk): nothing either');
SELECT tests.authenticate_as('adam');
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: an acting admin may run it (livepanty_app)');
SELECT is((SELECT imbalance FROM api.ledger_totals()), 0::bigint, 'ledger_totals: an acting admin may read it');

-- == Who may verify ========================================================================================
SELECT tests.authenticate_as('vera');
SELECT throws_ok($$SELECT * FROM api.verify_ledger()$$, 'LP002', NULL, 'verify_ledger: a viewer is LP002');
SELECT throws_ok($$SELECT * FROM api.ledger_totals()$$, 'LP002', NULL, 'ledger_totals: a viewer is LP002');
SELECT throws_ok($$SELECT * FROM api.ledger_stats()$$, 'LP002', NULL, 'ledger_stats: a viewer is LP002');
SELECT throws_ok($$SELECT * FROM api.verify_ledger_period()$$, 'LP002', NULL, 'verify_ledger_period: a viewer is LP002');
SELECT throws_ok($$SELECT * FROM api.ledger_periods()$$, 'LP002', NULL, 'ledger_periods: a viewer is LP002');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT * FROM api.verify_ledger_period()$$, 'LP001', NULL, 'verify_ledger_period: nobody acting through livepanty_app is LP001');
SELECT throws_ok($$SELECT * FROM api.ledger_periods()$$, 'LP001', NULL, 'ledger_periods: nobody acting through livepanty_app is LP001');
SELECT throws_ok($$SELECT * FROM api.verify_ledger()$$, 'LP001', NULL, 'verify_ledger: nobody acting through livepanty_app is LP001');
SELECT throws_ok($$SELECT * FROM api.ledger_stats()$$, 'LP001', NULL, 'ledger_stats: nobody acting through livepanty_app is LP001');
SELECT tests.authenticate_as(NULL, 'livepanty_readonly');
SELECT throws_ok($$SELECT * FROM api.verify_ledger()$$, '42501', NULL, 'verify_ledger: livepanty_readonly may not execute it');
SELECT throws_ok($$SELECT * FROM api.verify_ledger_period()$$, '42501', NULL, 'verify_ledger_period: livepanty_readonly may not execute it');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok($$SELECT * FROM api.verify_ledger('ffffffff-ffff-ffff-ffff-ffffffffffff', '00000000-0000-0000-0000-000000000000')$$,
                 'LP018', NULL, 'verify_ledger: wallet_from > wallet_to is LP018');
SELECT throws_ok($$SELECT * FROM api.ledger_stats(0)$$, 'LP018', NULL, 'ledger_stats: a chunk of 0 wallets is LP018');
SELECT throws_ok($$SELECT * FROM api.verify_ledger_period(now(), now() - interval '1 second')$$, 'LP018', NULL,
                 'verify_ledger_period: period_from later than period_to is LP018');
SELECT throws_ok($$SELECT * FROM api.ledger_periods(0)$$, 'LP018', NULL, 'ledger_periods: periods of 0 entries are LP018');
SELECT results_eq($$SELECT count(*)::integer, bool_and(period_from IS NULL) FILTER (WHERE period = 1),
                           bool_and(period_to IS NULL) FILTER (WHERE period = (SELECT max(period) FROM api.ledger_periods(1))),
                           bool_and(period_to = next_from) FILTER (WHERE next_from IS NOT NULL)
                      FROM (SELECT p.*, lead(p.period_from) OVER (ORDER BY p.period) AS next_from FROM api.ledger_periods(1) AS p) AS x$$,
                  $$VALUES (2, true, true, true)$$,
                  'ledger_periods(1): open at both ends, contiguous; one cut (every entry of this fixture has one time), two periods');

-- == ledger_stats: the chunks cover every wallet, contiguously =============================================
SELECT tests.clear_authentication();  -- the superuser may verify too (and read every table for the expectations)
SELECT results_eq($$SELECT sum(wallets)::bigint, sum(entries)::bigint, count(*) FROM api.ledger_stats(3)$$,
                  $$SELECT (SELECT count(*) FROM lp.wallets), (SELECT count(*) FROM lp.ledger), ceil((SELECT count(*) FROM lp.wallets) / 3.0)::bigint$$,
                  'ledger_stats(3): every wallet and every entry counted once, in ceil(wallets / 3) chunks');
SELECT results_eq($$SELECT bool_and(CASE WHEN chunk = 1 THEN wallet_from IS NULL ELSE wallet_from IS NOT NULL END),
                           bool_and(CASE WHEN chunk = (SELECT count(*) FROM api.ledger_stats(3)) THEN wallet_to IS NULL
                                         ELSE wallet_to = lp.verify_uuid_before(next_from) END)
                      FROM (SELECT s.*, lead(s.wallet_from) OVER (ORDER BY s.chunk) AS next_from FROM api.ledger_stats(3) AS s) AS c$$,
                  $$VALUES (true, true)$$,
                  'ledger_stats: open at both ends, each chunk ends just before the next one starts');
SELECT results_eq($$SELECT chunk, wallets FROM api.ledger_stats(1000)$$,
                  $$SELECT 1, count(*) FROM lp.wallets$$, 'ledger_stats(1000): one chunk with every wallet');
SELECT is(lp.verify_uuid_before('00000000-0000-0000-0001-000000000000'), '00000000-0000-0000-0000-ffffffffffff'::uuid,
          'lp.verify_uuid_before borrows through zero bytes');

-- == Corruptions ===========================================================================================
ALTER TABLE lp.ledger DISABLE TRIGGER ledger_append_only;

-- (1) An amount changed, balance_after with it (the row CHECK still holds): vera's side of tip B pays 1 token
-- less. Its transaction no longer sums to 0, vera's chain breaks at her next entry, her entries no longer sum
-- to her balance, and tip B's transaction has the wrong sender leg.
UPDATE lp.ledger SET amount = amount + 1, balance_after = balance_after + 1
 WHERE transaction_id = tests.uuid('tipB_tx') AND wallet_id = tests.wallet('vera');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('transaction_unbalanced', tests.first_wallet(tests.uuid('tipB_tx')), NULL::smallint, tests.uuid('tipB_tx')),
                       ('chain_broken', tests.wallet('vera'), 0::smallint, tests.uuid('tipC_tx')),
                       ('sum_mismatch', tests.wallet('vera'), 0::smallint, NULL::uuid),
                       ('tip_transaction', tests.wallet('vera'), NULL::smallint, tests.uuid('tipB_tx'))$$,
              'corrupted amount: transaction_unbalanced, chain_broken (next entry), sum_mismatch, tip_transaction');
SELECT results_eq($$SELECT wallet_id FROM api.verify_ledger() WHERE check_name = 'transaction_unbalanced'$$,
                  $$SELECT least(tests.wallet('vera'), tests.wallet('pia'), tests.system_wallet('platform_fees'))$$,
                  'transaction_unbalanced names the smallest wallet id of the transaction');
SELECT bag_eq($$SELECT * FROM tests.verify_chunked(1)$$, $$SELECT * FROM api.verify_ledger()$$,
              'chunked verification (one wallet per chunk) reports exactly the rows of a full one, none twice');
SELECT bag_eq($$SELECT * FROM tests.verify_chunked(4)$$, $$SELECT * FROM api.verify_ledger()$$,
              'chunked verification (4 wallets per chunk) reports exactly the rows of a full one');
SELECT set_eq($$SELECT check_name, transaction_id FROM api.verify_ledger_period(now(), NULL)$$,
              $$VALUES ('transaction_unbalanced', tests.uuid('tipB_tx')), ('tip_transaction', tests.uuid('tipB_tx'))$$,
              'verify_ledger_period over the period of the fixture''s time: the transaction checks only');
SELECT is_empty($$SELECT * FROM api.verify_ledger_period(NULL, now())$$,
                'verify_ledger_period before the fixture''s time: nothing (the period''s end is exclusive)');
SELECT set_eq($$SELECT check_name FROM api.verify_ledger(p_transactions => false)$$,
              $$VALUES ('chain_broken'), ('sum_mismatch')$$, 'verify_ledger(p_transactions => false): the account checks only');
SELECT tests.clear_authentication();
UPDATE lp.ledger SET amount = amount - 1, balance_after = balance_after - 1
 WHERE transaction_id = tests.uuid('tipB_tx') AND wallet_id = tests.wallet('vera');
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'undone: clean again');

-- (2) A balance_after changed alone (the row CHECK dropped for this): victor's last entry (the capture).
DO $$
BEGIN
    PERFORM tests.put('ledger_check', (SELECT c.conname::text FROM pg_catalog.pg_constraint AS c
                                        WHERE c.conrelid = 'lp.ledger'::regclass AND c.contype = 'c'
                                          AND pg_get_constraintdef(c.oid) = 'CHECK ((balance_after = (balance_before + amount)))'));
    EXECUTE format('ALTER TABLE lp.ledger DROP CONSTRAINT %I', (SELECT value #>> '{}' FROM tests.ctx WHERE key = 'ledger_check'));
END
$$;
UPDATE lp.ledger SET balance_after = balance_after + 7
 WHERE transaction_id = tests.uuid('capture_tx') AND wallet_id = tests.wallet('victor');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('entry_arithmetic', tests.wallet('victor'), 0::smallint, tests.uuid('capture_tx')),
                       ('balance_mismatch', tests.wallet('victor'), 0::smallint, tests.uuid('capture_tx'))$$,
              'corrupted balance_after of an account''s last entry: entry_arithmetic, balance_mismatch');
UPDATE lp.ledger SET balance_after = balance_after - 7
 WHERE transaction_id = tests.uuid('capture_tx') AND wallet_id = tests.wallet('victor');
-- An amount changed alone: the entry's arithmetic, its transaction, the account's sum and the capture.
UPDATE lp.ledger SET amount = amount - 1
 WHERE transaction_id = tests.uuid('capture_tx') AND wallet_id = tests.wallet('victor');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('entry_arithmetic', tests.wallet('victor'), 0::smallint, tests.uuid('capture_tx')),
                       ('transaction_unbalanced', tests.first_wallet(tests.uuid('capture_tx')), NULL::smallint, tests.uuid('capture_tx')),
                       ('sum_mismatch', tests.wallet('victor'), 0::smallint, NULL::uuid),
                       ('hold_capture_transaction', tests.wallet('victor'), NULL::smallint, tests.uuid('capture_tx'))$$,
              'corrupted amount alone: entry_arithmetic, transaction_unbalanced, sum_mismatch, hold_capture_transaction');
UPDATE lp.ledger SET amount = amount + 1
 WHERE transaction_id = tests.uuid('capture_tx') AND wallet_id = tests.wallet('victor');
DO $$
BEGIN
    EXECUTE format('ALTER TABLE lp.ledger ADD CONSTRAINT %I CHECK (balance_after = balance_before + amount)',
                   (SELECT value #>> '{}' FROM tests.ctx WHERE key = 'ledger_check'));
END
$$;
SELECT is_empty($$SELECT * FROM tests.violations()$$, 'undone: clean again (and the row CHECK is back)');

-- (3) The first entry of an account moved off 0 (before and after shifted together).
UPDATE lp.ledger SET balance_before = balance_before + 3, balance_after = balance_after + 3
 WHERE transaction_id = tests.uuid('victor_fund1') AND wallet_id = tests.wallet('victor');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('chain_start', tests.wallet('victor'), 0::smallint, tests.uuid('victor_fund1')),
                       ('chain_broken', tests.wallet('victor'), 0::smallint, tests.uuid('victor_fund2'))$$,
              'first entry not starting at 0: chain_start, and chain_broken at the entry after it');
UPDATE lp.ledger SET balance_before = balance_before - 3, balance_after = balance_after - 3
 WHERE transaction_id = tests.uuid('victor_fund1') AND wallet_id = tests.wallet('victor');

-- (4) A wallet's main balance updated directly: tokens out of thin air.
UPDATE lp.wallets SET balance = balance + 10 WHERE id = tests.wallet('vera');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('balance_mismatch', tests.wallet('vera'), 0::smallint, tests.last_tx(tests.wallet('vera'), 0)),
                       ('sum_mismatch', tests.wallet('vera'), 0::smallint, NULL::uuid),
                       ('tokens_not_conserved', NULL::uuid, NULL::smallint, NULL::uuid)$$,
              'main balance edited: balance_mismatch, sum_mismatch, tokens_not_conserved');
SELECT is((SELECT imbalance FROM api.ledger_totals()), -10::bigint, 'ledger_totals: imbalance -10 (10 tokens held that were never issued)');
SELECT is_empty($$SELECT * FROM api.verify_ledger(NULL, NULL, false) WHERE check_name = 'tokens_not_conserved'$$,
                'verify_ledger(p_global => false) leaves the global check out');
UPDATE lp.wallets SET balance = balance - 10 WHERE id = tests.wallet('vera');

-- (5) Credit shards edited: one with entries made negative, one without entries given tokens.
UPDATE lp.wallet_shards SET balance = -5 WHERE wallet_id = tests.wallet('pia') AND shard = 1;
UPDATE lp.wallet_shards SET balance = 4 WHERE wallet_id = tests.wallet('pete') AND shard = 8;
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('negative_balance', tests.wallet('pia'), 1::smallint, NULL::uuid),
                       ('balance_mismatch', tests.wallet('pia'), 1::smallint, tests.last_tx(tests.wallet('pia'), 1)),
                       ('sum_mismatch', tests.wallet('pia'), 1::smallint, NULL::uuid),
                       ('balance_mismatch', tests.wallet('pete'), 8::smallint, NULL::uuid),
                       ('tokens_not_conserved', NULL::uuid, NULL::smallint, NULL::uuid)$$,
              'shards edited: negative_balance (user shard), balance_mismatch / sum_mismatch, an entry-less shard with tokens, tokens_not_conserved');
UPDATE lp.wallet_shards SET balance = (SELECT l.balance_after FROM lp.ledger AS l WHERE l.wallet_id = tests.wallet('pia') AND l.shard = 1 ORDER BY l.id DESC LIMIT 1)
 WHERE wallet_id = tests.wallet('pia') AND shard = 1;
UPDATE lp.wallet_shards SET balance = 0 WHERE wallet_id = tests.wallet('pete') AND shard = 8;
SELECT is_empty($$SELECT * FROM tests.violations()$$, 'undone: clean again');

-- (6) Reserved changed directly, and an open hold changed behind the wallet's back.
UPDATE lp.wallets SET reserved = reserved + 50 WHERE id = tests.wallet('victor');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('reserved_mismatch', tests.wallet('victor'), 0::smallint, NULL::uuid)$$,
              'reserved edited: reserved_mismatch');
UPDATE lp.wallets SET reserved = reserved - 50 WHERE id = tests.wallet('victor');
UPDATE lp.holds SET captured = captured + 10 WHERE id = tests.uuid('hold');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('reserved_mismatch', tests.wallet('victor'), 0::smallint, NULL::uuid)$$,
              'an open hold''s captured edited: reserved_mismatch');
UPDATE lp.holds SET captured = captured - 10 WHERE id = tests.uuid('hold');

-- (7) A user's main balance below reserved without recorded debt (the wallet constraint dropped for this).
ALTER TABLE lp.wallets DROP CONSTRAINT wallets_user_balance_check;
UPDATE lp.wallets SET balance = -5 WHERE id = tests.wallet('dan');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('negative_balance', tests.wallet('dan'), 0::smallint, NULL::uuid),
                       ('balance_mismatch', tests.wallet('dan'), 0::smallint, NULL::uuid),
                       ('tokens_not_conserved', NULL::uuid, NULL::smallint, NULL::uuid)$$,
              'negative main balance without debt: negative_balance, balance_mismatch (no entries), tokens_not_conserved');
UPDATE lp.wallets SET balance = 0 WHERE id = tests.wallet('dan');
ALTER TABLE lp.wallets ADD CONSTRAINT wallets_user_balance_check
    CHECK (kind = 'system' OR debt_since IS NOT NULL OR (balance >= 0 AND reserved <= balance));
SELECT is_empty($$SELECT * FROM tests.violations()$$, 'undone: clean again (dora''s recorded debt is allowed)');

-- (8) Unbalanced entries inserted (appending needs no trigger change): one that continues pete's chain and
-- moves his balance with it (only the transaction and the global sum show it), one on a shard pete does not
-- have.
DO $$
DECLARE
    v_pete lp.wallets;
BEGIN
    SELECT w.* INTO v_pete FROM lp.wallets AS w WHERE w.id = tests.wallet('pete');
    PERFORM tests.put('forged_tx', gen_random_uuid()), tests.put('forged_shard_tx', gen_random_uuid());
    INSERT INTO lp.ledger (transaction_id, wallet_id, shard, amount, balance_before, balance_after, entry_kind,
                           reference_type, reference_id)
    VALUES (tests.uuid('forged_tx'), v_pete.id, 0, 100, v_pete.balance, v_pete.balance + 100, 'adjustment',
            'adjustment', gen_random_uuid()),
           (tests.uuid('forged_shard_tx'), v_pete.id, 20, 5, 0, 5, 'adjustment', 'adjustment', gen_random_uuid());
    UPDATE lp.wallets SET balance = balance + 100 WHERE id = v_pete.id;
END
$$;
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('transaction_unbalanced', tests.wallet('pete'), NULL::smallint, tests.uuid('forged_tx')),
                       ('transaction_unbalanced', tests.wallet('pete'), NULL::smallint, tests.uuid('forged_shard_tx')),
                       ('unknown_account', tests.wallet('pete'), 20::smallint, tests.uuid('forged_shard_tx')),
                       ('tokens_not_conserved', NULL::uuid, NULL::smallint, NULL::uuid)$$,
              'unbalanced entries inserted: transaction_unbalanced for each, unknown_account, tokens_not_conserved');
DELETE FROM lp.ledger WHERE transaction_id IN (tests.uuid('forged_tx'), tests.uuid('forged_shard_tx'));
UPDATE lp.wallets SET balance = balance - 100 WHERE id = tests.wallet('pete');

-- (8b) lp.ledger has no foreign key onto lp.wallets (0015: its key-share lock broke the lock protocol), so
-- verify_ledger is what proves the reference: a balanced transaction on a wallet that does not exist.
DO $$
BEGIN
    PERFORM tests.put('ghost', gen_random_uuid()), tests.put('ghost_tx', gen_random_uuid());
    INSERT INTO lp.ledger (transaction_id, wallet_id, shard, amount, balance_before, balance_after, entry_kind,
                           reference_type, reference_id)
    VALUES (tests.uuid('ghost_tx'), tests.uuid('ghost'), 0, 7, 0, 7, 'adjustment', 'adjustment', gen_random_uuid()),
           (tests.uuid('ghost_tx'), tests.uuid('ghost'), 1, -7, 0, -7, 'adjustment', 'adjustment', gen_random_uuid());
END
$$;
SELECT set_has($$SELECT * FROM tests.violations()$$,
               $$VALUES ('unknown_account', tests.uuid('ghost'), 0::smallint, tests.uuid('ghost_tx')),
                        ('unknown_account', tests.uuid('ghost'), 1::smallint, tests.uuid('ghost_tx'))$$,
               'entries on a wallet that does not exist: unknown_account for each of its accounts');
DELETE FROM lp.ledger WHERE transaction_id = tests.uuid('ghost_tx');
SELECT is_empty($$SELECT * FROM tests.violations()$$, 'undone: clean again');

-- (9) Business rows that no longer match their ledger transaction.
UPDATE lp.tips SET fee_amount = fee_amount + 1 WHERE id = tests.uuid('tipA');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('tip_transaction', tests.wallet('vera'), NULL::smallint, tests.uuid('tipA_tx'))$$,
              'a tip whose fee does not match its ledger legs: tip_transaction');
UPDATE lp.tips SET fee_amount = fee_amount - 1 WHERE id = tests.uuid('tipA');
UPDATE lp.tips SET transaction_id = '00000000-0000-4000-8000-000000000001' WHERE id = tests.uuid('tipC');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('tip_transaction', tests.wallet('vera'), NULL::smallint, '00000000-0000-4000-8000-000000000001'::uuid)$$,
              'a tip without a ledger transaction: tip_transaction');
UPDATE lp.tips SET transaction_id = tests.uuid('tipC_tx') WHERE id = tests.uuid('tipC');
-- lp.tips has no foreign key onto lp.users (0048: its key-share locks on both user rows at every tip), so
-- verify_ledger is what proves both references: a tip whose sender, then whose recipient, is no user (no
-- wallet) is reported, even though its ledger legs are right.
UPDATE lp.tips SET sender_id = '00000000-0000-4000-8000-00000000dead' WHERE id = tests.uuid('tipA');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('tip_transaction', tests.wallet('pia'), NULL::smallint, tests.uuid('tipA_tx'))$$,
              'a tip whose sender is no user: tip_transaction (at the recipient''s wallet)');
SELECT matches((SELECT v.detail FROM api.verify_ledger() AS v WHERE v.transaction_id = tests.uuid('tipA_tx')),
               'sender 00000000-0000-4000-8000-00000000dead \(no wallet\), recipient [-0-9a-f]+ \(wallet\)',
               'the detail names the missing sender');
UPDATE lp.tips SET sender_id = tests.user_id('vera'), recipient_id = '00000000-0000-4000-8000-00000000dead'
 WHERE id = tests.uuid('tipA');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('tip_transaction', tests.wallet('vera'), NULL::smallint, tests.uuid('tipA_tx'))$$,
              'a tip whose recipient is no user: tip_transaction');
SELECT set_eq($$SELECT c.check_name, c.wallet_id, c.shard, c.transaction_id FROM tests.verify_chunked(2) AS c$$,
              $$VALUES ('tip_transaction', tests.wallet('vera'), NULL::smallint, tests.uuid('tipA_tx'))$$,
              'chunked (periods of api.ledger_periods): the same');
UPDATE lp.tips SET recipient_id = tests.user_id('pia') WHERE id = tests.uuid('tipA');
UPDATE lp.hold_captures SET amount = amount + 1 WHERE transaction_id = tests.uuid('capture_tx');
SELECT set_eq($$SELECT * FROM tests.violations()$$,
              $$VALUES ('hold_capture_transaction', tests.wallet('victor'), NULL::smallint, tests.uuid('capture_tx'))$$,
              'a hold capture whose amount does not match its ledger legs: hold_capture_transaction');
UPDATE lp.hold_captures SET amount = amount - 1 WHERE transaction_id = tests.uuid('capture_tx');

-- Everything undone: clean, in one piece and in chunks, and the totals balance.
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'every corruption undone: verify_ledger is clean again');
SELECT is_empty($$SELECT * FROM tests.verify_chunked(2)$$, 'every corruption undone: chunked verification is clean too');
SELECT is((SELECT imbalance FROM api.ledger_totals()), 0::bigint, 'every corruption undone: ledger_totals imbalance 0');
SELECT tests.clear_authentication();
ALTER TABLE lp.ledger ENABLE TRIGGER ledger_append_only;

SELECT * FROM finish();
ROLLBACK;
