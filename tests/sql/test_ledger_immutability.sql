-- lp.ledger is immutable: UPDATE, DELETE, TRUNCATE (and MERGE that would update or delete) are rejected with
-- LP090 for the superuser and for the owner (livepanty_owner, whose SECURITY DEFINER functions write money),
-- and the application roles have no write privilege at all (42501). Appending stays possible for the owner
-- (that is how lp.post writes), and after every attempt the ledger is exactly as it was.
BEGIN;
SELECT plan(33);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   20_money.sql:    tests.wallet

-- == Fixture: a few real entries (a purchase through lp.post, a tip through api.tip) =======================
DO $$
BEGIN
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('pia', 'performer');
    PERFORM lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                    ARRAY[ROW(lp.system_wallet('issuance'), -1000, 'purchase', 0, false)::lp.posting,
                          ROW(tests.wallet('vera'), 1000, 'purchase', 0, false)::lp.posting]);
END
$$;
SELECT tests.authenticate_as('vera');
SELECT lives_ok($$SELECT api.tip(tests.user_id('pia'), 100, 'tip-1')$$, 'fixture: vera tips pia through api.tip');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.ledger), 5::bigint, 'fixture: 5 ledger entries (purchase 2, tip 3)');
CREATE TABLE tests.ledger_before AS SELECT * FROM lp.ledger;

SELECT has_trigger('lp', 'ledger', 'ledger_append_only', 'lp.ledger has its row trigger against UPDATE and DELETE');
SELECT has_trigger('lp', 'ledger', 'ledger_no_truncate', 'lp.ledger has its statement trigger against TRUNCATE');
SELECT results_eq($$SELECT t.tgname::text COLLATE "default", t.tgenabled::text, t.tgfoid::regprocedure::text FROM pg_catalog.pg_trigger AS t
                     WHERE t.tgrelid = 'lp.ledger'::regclass AND NOT t.tgisinternal ORDER BY t.tgname$$,
                  $$VALUES ('ledger_append_only', 'O', 'lp.reject_mutation()'), ('ledger_no_truncate', 'O', 'lp.reject_mutation()')$$,
                  'both triggers are enabled (origin mode) and call lp.reject_mutation()');

-- == The superuser ========================================================================================
SELECT throws_ok($$UPDATE lp.ledger SET description = 'edited'$$, 'LP090', NULL, 'superuser: UPDATE of a column is LP090');
SELECT throws_ok($$UPDATE lp.ledger SET amount = amount * 2, balance_after = balance_before + amount * 2 WHERE entry_kind = 'tip'$$,
                 'LP090', NULL, 'superuser: UPDATE of amounts (consistent with the row CHECK) is LP090');
SELECT throws_ok($$UPDATE lp.ledger SET amount = amount WHERE id = (SELECT max(id) FROM lp.ledger)$$, 'LP090', NULL,
                 'superuser: even a no-op UPDATE of one row is LP090');
SELECT throws_ok($$DELETE FROM lp.ledger WHERE id = (SELECT max(id) FROM lp.ledger)$$, 'LP090', NULL, 'superuser: DELETE of one row is LP090');
SELECT throws_ok($$DELETE FROM lp.ledger$$, 'LP090', NULL, 'superuser: DELETE of every row is LP090');
SELECT throws_ok($$TRUNCATE lp.ledger$$, 'LP090', NULL, 'superuser: TRUNCATE is LP090');
SELECT throws_ok($$TRUNCATE lp.ledger CASCADE$$, 'LP090', NULL, 'superuser: TRUNCATE ... CASCADE is LP090');
SELECT throws_ok($$MERGE INTO lp.ledger AS l USING (SELECT max(id) AS id FROM lp.ledger) AS s ON l.id = s.id
                   WHEN MATCHED THEN UPDATE SET description = 'merged'$$, 'LP090', NULL, 'superuser: MERGE ... UPDATE is LP090');
SELECT throws_ok($$MERGE INTO lp.ledger AS l USING (SELECT max(id) AS id FROM lp.ledger) AS s ON l.id = s.id
                   WHEN MATCHED THEN DELETE$$, 'LP090', NULL, 'superuser: MERGE ... DELETE is LP090');

-- == The owner (the role every SECURITY DEFINER function runs as) ==========================================
SELECT tests.authenticate_as(NULL, 'livepanty_owner');
SELECT isnt_empty($$SELECT 1 FROM lp.ledger$$, 'livepanty_owner sees the entries (so the row trigger has rows to fire on)');
SELECT throws_ok($$UPDATE lp.ledger SET description = 'edited'$$, 'LP090', NULL, 'livepanty_owner: UPDATE is LP090');
SELECT throws_ok($$DELETE FROM lp.ledger WHERE id = (SELECT max(id) FROM lp.ledger)$$, 'LP090', NULL, 'livepanty_owner: DELETE is LP090');
SELECT throws_ok($$TRUNCATE lp.ledger$$, 'LP090', NULL, 'livepanty_owner: TRUNCATE is LP090');
SELECT throws_ok($$MERGE INTO lp.ledger AS l USING (SELECT max(id) AS id FROM lp.ledger) AS s ON l.id = s.id
                   WHEN MATCHED THEN DELETE$$, 'LP090', NULL, 'livepanty_owner: MERGE ... DELETE is LP090');
SELECT lives_ok($$INSERT INTO lp.ledger (transaction_id, wallet_id, shard, amount, balance_before, balance_after, entry_kind,
                                         reference_type, reference_id, description)
                  VALUES ('00000000-0000-4000-8000-0000000000aa', tests.wallet('vera'), 0, 1, 900, 901, 'adjustment',
                          'adjustment', '00000000-0000-4000-8000-0000000000aa', 'appended')$$,
                'livepanty_owner: appending an entry works (it is how lp.post writes)');
SELECT throws_ok($$UPDATE lp.ledger SET description = 'edited again' WHERE description = 'appended'$$, 'LP090', NULL,
                 'livepanty_owner: the appended entry cannot be changed either');
SELECT tests.clear_authentication();

-- == The application roles: no write privilege at all =====================================================
SELECT tests.authenticate_as('vera', 'livepanty_app');
SELECT isnt_empty($$SELECT 1 FROM lp.ledger$$, 'livepanty_app (vera acting) sees her own entries');
SELECT throws_ok($$UPDATE lp.ledger SET description = 'edited'$$, '42501', NULL, 'livepanty_app: UPDATE is 42501');
SELECT throws_ok($$DELETE FROM lp.ledger$$, '42501', NULL, 'livepanty_app: DELETE is 42501');
SELECT throws_ok($$TRUNCATE lp.ledger$$, '42501', NULL, 'livepanty_app: TRUNCATE is 42501');
SELECT throws_ok($$INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after, entry_kind,
                                          reference_type, reference_id)
                   VALUES (gen_random_uuid(), tests.wallet('vera'), 1, 0, 1, 'adjustment', 'adjustment', gen_random_uuid())$$,
                 '42501', NULL, 'livepanty_app: INSERT is 42501 (tokens move only through the api functions)');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok($$UPDATE lp.ledger SET description = 'edited'$$, '42501', NULL, 'livepanty_service: UPDATE is 42501');
SELECT throws_ok($$DELETE FROM lp.ledger$$, '42501', NULL, 'livepanty_service: DELETE is 42501');
SELECT throws_ok($$TRUNCATE lp.ledger$$, '42501', NULL, 'livepanty_service: TRUNCATE is 42501');
SELECT tests.authenticate_as(NULL, 'livepanty_readonly');
SELECT throws_ok($$UPDATE lp.ledger SET description = 'edited'$$, '42501', NULL, 'livepanty_readonly: UPDATE is 42501');
SELECT throws_ok($$DELETE FROM lp.ledger$$, '42501', NULL, 'livepanty_readonly: DELETE is 42501');
SELECT throws_ok($$TRUNCATE lp.ledger$$, '42501', NULL, 'livepanty_readonly: TRUNCATE is 42501');
SELECT tests.clear_authentication();

-- == Nothing changed ======================================================================================
SELECT set_eq($$SELECT * FROM lp.ledger WHERE description IS DISTINCT FROM 'appended'$$,
              $$SELECT * FROM tests.ledger_before$$,
              'after every attempt, every entry is still there, unchanged (only the appended one is new)');

SELECT * FROM finish();
ROLLBACK;
