-- lp.audit_logs and lp.ledger are append-only for every role, the superuser and the owner included (LP090),
-- and every security-relevant api function writes its audit row: actor, actor role, action, target and the
-- IP address where the caller gave one. The api calls run as the application role (livepanty_app, or
-- livepanty_service for api.create_admin); the audit rows are read back as the superuser.
BEGIN;
SELECT plan(57);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   10_scratch.sql:  tests.put, tests.get(key, field)
--   20_money.sql:    tests.last_audit

-- == Fixture ===============================================================================================
DO $$
BEGIN
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('dan');
    PERFORM tests.create_user('eve');
    INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after, entry_kind,
                           reference_type, reference_id)
    SELECT gen_random_uuid(), w.id, -100, 0, -100, 'adjustment', 'adjustment', gen_random_uuid()
      FROM lp.wallets AS w WHERE w.system_code = 'issuance';
END
$$;

-- == Append-only: lp.audit_logs ============================================================================
SELECT has_trigger('lp', 'audit_logs', 'audit_logs_append_only', 'audit_logs has its row trigger against UPDATE/DELETE');
SELECT has_trigger('lp', 'audit_logs', 'audit_logs_no_truncate', 'audit_logs has its statement trigger against TRUNCATE');
SELECT has_trigger('lp', 'ledger', 'ledger_append_only', 'ledger has its row trigger against UPDATE/DELETE');
SELECT has_trigger('lp', 'ledger', 'ledger_no_truncate', 'ledger has its statement trigger against TRUNCATE');
SELECT is_empty($$
    SELECT t.tgname FROM pg_catalog.pg_trigger AS t
     WHERE t.tgrelid IN ('lp.audit_logs'::regclass, 'lp.ledger'::regclass) AND NOT t.tgisinternal
       AND (t.tgenabled = 'D'
            OR t.tgfoid <> CASE WHEN t.tgname = 'audit_logs_append_only'
                                THEN 'lp.reject_mutation_unless_scrubbing()'::regprocedure
                                ELSE 'lp.reject_mutation()'::regprocedure END)
$$, 'the append-only triggers are enabled and call lp.reject_mutation() (the audit row trigger lp.reject_mutation_unless_scrubbing(): only an erasure or a retention purge may null addresses and free text, tests/sql/test_erasure.sql)');

-- Catalog: every table of our schemas with a row trigger that refuses changes (a function of the lp.reject_mutation
-- family or a *_frozen one, or any trigger function raising LP090 or LP130) also has an enabled BEFORE TRUNCATE
-- statement trigger: TRUNCATE fires no row trigger, so without one the owner could empty the table.
-- Today: lp.audit_logs, lp.ledger (and their partitions), lp.ledger_checkpoints, lp.earnings_checkpoints,
-- lp.stream_consents, lp.tip_menu_items, lp.kyc_verifications, lp.kyc_aliases.
SELECT is_empty($$
    SELECT c.oid::regclass::text
      FROM pg_catalog.pg_class AS c
     WHERE c.relnamespace::regnamespace::text IN ('lp', 'lp_partitions', 'api', 'reporting', 'monitoring')
       AND c.relkind IN ('r', 'p')
       AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger AS t JOIN pg_catalog.pg_proc AS f ON f.oid = t.tgfoid
                    WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND (t.tgtype & 1) = 1
                      AND (f.proname ~ '^reject_mutation' OR f.proname ~ '_frozen$'
                           OR f.prosrc ~ 'LP(090|130)'))
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger AS t
                        WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgenabled <> 'D'
                          AND (t.tgtype & 1) = 0 AND (t.tgtype & 2) = 2 AND (t.tgtype & 32) = 32)
$$, 'every table with a row trigger that refuses changes has an enabled BEFORE TRUNCATE statement trigger');
SELECT set_eq($$
    SELECT DISTINCT c.oid::regclass::text
      FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_trigger AS t ON t.tgrelid = c.oid
      JOIN pg_catalog.pg_proc AS f ON f.oid = t.tgfoid
     WHERE c.relnamespace = 'lp'::regnamespace AND NOT t.tgisinternal AND (t.tgtype & 1) = 1
       AND (f.proname ~ '^reject_mutation' OR f.proname ~ '_frozen$' OR f.prosrc ~ 'LP(090|130)')
$$, $$VALUES ('lp.audit_logs'), ('lp.ledger'), ('lp.ledger_checkpoints'), ('lp.earnings_checkpoints'), ('lp.stream_consents'),
             ('lp.tip_menu_items'), ('lp.kyc_verifications'), ('lp.kyc_aliases')$$,
   'the check above sees the tables with such row triggers (it would pass on none)');
SELECT isnt_empty($$SELECT 1 FROM lp.audit_logs$$, 'audit_logs has rows (so row triggers fire below)');
CREATE TABLE tests.audit_before AS SELECT * FROM lp.audit_logs;
CREATE TABLE tests.ledger_before AS SELECT * FROM lp.ledger;

SELECT throws_ok($$UPDATE lp.audit_logs SET details = '{"edited": true}'$$, 'LP090', NULL, 'superuser: UPDATE of audit_logs is rejected (LP090)');
SELECT throws_ok($$DELETE FROM lp.audit_logs$$, 'LP090', NULL, 'superuser: DELETE from audit_logs is rejected (LP090)');
SELECT throws_ok($$TRUNCATE lp.audit_logs$$, 'LP090', NULL, 'superuser: TRUNCATE of audit_logs is rejected (LP090)');
SELECT throws_ok($$UPDATE lp.ledger SET amount = -1000, balance_after = balance_before - 1000$$, 'LP090', NULL, 'superuser: UPDATE of ledger is rejected (LP090)');
SELECT throws_ok($$DELETE FROM lp.ledger$$, 'LP090', NULL, 'superuser: DELETE from ledger is rejected (LP090)');
SELECT throws_ok($$TRUNCATE lp.ledger$$, 'LP090', NULL, 'superuser: TRUNCATE of ledger is rejected (LP090)');

SELECT tests.authenticate_as(NULL, 'livepanty_owner');
SELECT isnt_empty($$SELECT 1 FROM lp.audit_logs$$, 'livepanty_owner sees the audit rows (its policy), so row triggers fire');
SELECT throws_ok($$UPDATE lp.audit_logs SET details = '{"edited": true}'$$, 'LP090', NULL, 'livepanty_owner: UPDATE of audit_logs is rejected (LP090)');
SELECT throws_ok($$DELETE FROM lp.audit_logs$$, 'LP090', NULL, 'livepanty_owner: DELETE from audit_logs is rejected (LP090)');
SELECT throws_ok($$TRUNCATE lp.audit_logs$$, 'LP090', NULL, 'livepanty_owner: TRUNCATE of audit_logs is rejected (LP090)');
SELECT throws_ok($$UPDATE lp.ledger SET amount = -1000, balance_after = balance_before - 1000$$, 'LP090', NULL, 'livepanty_owner: UPDATE of ledger is rejected (LP090)');
SELECT throws_ok($$DELETE FROM lp.ledger$$, 'LP090', NULL, 'livepanty_owner: DELETE from ledger is rejected (LP090)');
SELECT throws_ok($$TRUNCATE lp.ledger$$, 'LP090', NULL, 'livepanty_owner: TRUNCATE of ledger is rejected (LP090)');
-- The other tables whose rows a trigger keeps (docs/streams.md: consents and menu items; docs/compliance.md: the
-- records of approved identity verifications): TRUNCATE fires no row trigger, so each has its statement trigger
-- too. lp.kyc_verifications is referenced by foreign keys: a plain TRUNCATE of it is refused before any trigger
-- (0A000), TRUNCATE ... CASCADE reaches the trigger.
SELECT throws_ok($$TRUNCATE lp.stream_consents$$, 'LP090', NULL, 'livepanty_owner: TRUNCATE of stream_consents is rejected (LP090)');
SELECT throws_ok($$TRUNCATE lp.tip_menu_items$$, 'LP090', NULL, 'livepanty_owner: TRUNCATE of tip_menu_items is rejected (LP090)');
SELECT throws_ok($$TRUNCATE lp.kyc_aliases$$, 'LP130', NULL, 'livepanty_owner: TRUNCATE of kyc_aliases is rejected (LP130)');
SELECT throws_ok($$TRUNCATE lp.kyc_verifications CASCADE$$, 'LP130', NULL,
                 'livepanty_owner: TRUNCATE ... CASCADE of kyc_verifications is rejected (LP130)');
SELECT lives_ok($$INSERT INTO lp.audit_logs (action, details) VALUES ('test.append', '{}')$$,
                'livepanty_owner: appending to audit_logs works');
SELECT lives_ok($$INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after, entry_kind,
                                         reference_type, reference_id)
                  SELECT gen_random_uuid(), w.id, 100, -100, 0, 'adjustment', 'adjustment', gen_random_uuid()
                    FROM lp.wallets AS w WHERE w.system_code = 'issuance'$$,
                'livepanty_owner: appending a correcting entry to the ledger works');
SELECT tests.clear_authentication();

SELECT set_eq($$SELECT * FROM tests.audit_before$$,
              $$SELECT * FROM lp.audit_logs WHERE action <> 'test.append'$$,
              'every audit row is still there, unchanged');
SELECT set_eq($$SELECT * FROM tests.ledger_before$$,
              $$SELECT * FROM lp.ledger WHERE balance_before <> -100$$,
              'every ledger entry is still there, unchanged');

-- == user.register, admin.create ===========================================================================
SELECT tests.authenticate_as(NULL);
SELECT tests.put('vera', (api.register_user('vera@example.com', 'vera', tests.password(), DATE '1990-01-01',
                                            'viewer', NULL, NULL, '198.51.100.7')).id);
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, actor_role, target_type, target_id, ip_address, details ->> 'role' FROM tests.last_audit('user.register')$$,
                  $$VALUES (tests.user_id('vera'), 'viewer', 'user', tests.user_id('vera')::text, '198.51.100.7'::inet, 'viewer')$$,
                  'api.register_user writes user.register (actor and target: the new user; IP; role)');
SELECT is((SELECT db_role FROM tests.last_audit('user.register')), session_user::text,
          'audit rows record the database login (session_user)');

SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.put('root2', api.create_admin('root2@example.com', 'root2', tests.password(), DATE '1980-01-01'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_type, target_id, details ->> 'by' FROM tests.last_audit('admin.create')$$,
                  $$VALUES (NULL::uuid, 'user', tests.user_id('root2')::text, session_user::text COLLATE "default")$$,
                  'api.create_admin (operator bootstrap, nobody acting) writes admin.create with the target and the database login');
SELECT tests.authenticate_as('adam', 'livepanty_service');
SELECT tests.put('root3', api.create_admin('root3@example.com', 'root3', tests.password(), DATE '1980-01-01'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, actor_role, target_id FROM tests.last_audit('admin.create')$$,
                  $$VALUES (tests.user_id('adam'), 'admin', tests.user_id('root3')::text)$$,
                  'api.create_admin with an admin acting records that admin as the actor');

-- == auth.login, auth.login_failed, auth.lockout ===========================================================
SELECT tests.authenticate_as(NULL);
SELECT tests.put('login1', api.login('vera', tests.password(), '203.0.113.1', 'ua-1'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, actor_role, target_type, target_id, ip_address FROM tests.last_audit('auth.login')$$,
                  $$VALUES (tests.user_id('vera'), 'viewer', 'session', tests.get('login1', 'session_id'), '203.0.113.1'::inet)$$,
                  'api.login (success) writes auth.login (actor: the user; target: the new session; IP)');

SELECT tests.authenticate_as(NULL);
SELECT tests.put('bad1', api.login('vera@example.com', 'wrong password 1', '203.0.113.2'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_type, target_id, ip_address, details ->> 'reason' FROM tests.last_audit('auth.login_failed')$$,
                  $$VALUES (tests.user_id('vera'), 'user', tests.user_id('vera')::text, '203.0.113.2'::inet, 'bad_password')$$,
                  'api.login (wrong password) writes auth.login_failed against the user, with the IP');

SELECT tests.authenticate_as(NULL);
SELECT tests.put('bad2', api.login('nobody@example.com', 'wrong password 1', '203.0.113.3'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_type, target_id, ip_address, details ->> 'reason' FROM tests.last_audit('auth.login_failed')$$,
                  $$VALUES (NULL::uuid, NULL::text, NULL::text, '203.0.113.3'::inet, 'unknown_login')$$,
                  'api.login (unknown login) writes auth.login_failed without actor or target, with the IP');

SELECT tests.authenticate_as(NULL);
SELECT count(api.login('vic', 'wrong password ' || i, '203.0.113.4')) AS failed_logins FROM generate_series(1, 5) AS i;
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_type, target_id, ip_address, (details ->> 'minutes')::numeric FROM tests.last_audit('auth.lockout')$$,
                  $$VALUES (tests.user_id('vic'), 'user', tests.user_id('vic')::text, '203.0.113.4'::inet, 15::numeric)$$,
                  'the fifth failed login writes auth.lockout (user, IP, lockout minutes)');
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action = 'auth.login_failed' AND target_id = tests.user_id('vic')::text),
          5::bigint, 'each of the five failures wrote auth.login_failed');

SELECT tests.authenticate_as(NULL);
SELECT tests.put('locked', api.login('vic', tests.password(), '203.0.113.4'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, details ->> 'reason' FROM tests.last_audit('auth.login_failed')$$,
                  $$VALUES (tests.user_id('vic'), 'locked')$$,
                  'a correct password during the lockout is audited as a failure (reason locked)');

-- == auth.password_change, auth.password_reset_request, auth.password_reset ================================
SELECT tests.authenticate_as(NULL);
SELECT api.authenticate(tests.get('login1', 'token')) IS NOT NULL AS authenticated;
SELECT tests.put('change_failed', api.change_password('Not-the-password-1', 'N3w-passphrase!', '203.0.113.5'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_type, target_id, ip_address, details ->> 'reason' FROM tests.last_audit('auth.password_change_failed')$$,
                  $$VALUES (tests.user_id('vera'), 'user', tests.user_id('vera')::text, '203.0.113.5'::inet, 'bad_password')$$,
                  'api.change_password with a wrong current password writes auth.password_change_failed (user, IP)');
SELECT tests.authenticate_as(NULL);
SELECT api.authenticate(tests.get('login1', 'token')) IS NOT NULL AS authenticated;
SELECT tests.put('changed', api.change_password(tests.password(), 'N3w-passphrase!', '203.0.113.5'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_type, target_id, ip_address FROM tests.last_audit('auth.password_change')$$,
                  $$VALUES (tests.user_id('vera'), 'user', tests.user_id('vera')::text, '203.0.113.5'::inet)$$,
                  'api.change_password writes auth.password_change (user, IP)');

SELECT tests.authenticate_as(NULL);
SELECT api.request_password_reset('VERA@example.com', '203.0.113.6');
SELECT tests.put('reset', tests.reset_payload('vera'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_type, target_id, ip_address, details ->> 'known' FROM tests.last_audit('auth.password_reset_request')$$,
                  $$VALUES (tests.user_id('vera'), 'user', tests.user_id('vera')::text, '203.0.113.6'::inet, 'true')$$,
                  'api.request_password_reset writes auth.password_reset_request (user, IP)');
SELECT tests.authenticate_as(NULL);
SELECT api.request_password_reset('ghost@example.com', '203.0.113.7');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_id, ip_address, details ->> 'known' FROM tests.last_audit('auth.password_reset_request')$$,
                  $$VALUES (NULL::uuid, NULL::text, '203.0.113.7'::inet, 'false')$$,
                  'a reset request for an unknown address is audited too, without actor or target');

SELECT tests.authenticate_as(NULL);
SELECT tests.put('reset_done', api.reset_password(tests.get('reset', 'token'), 'Reset-passphrase-2', '203.0.113.8'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_type, target_id, ip_address FROM tests.last_audit('auth.password_reset')$$,
                  $$VALUES (tests.user_id('vera'), 'user', tests.user_id('vera')::text, '203.0.113.8'::inet)$$,
                  'api.reset_password writes auth.password_reset (user, IP)');

-- == auth.session_revoke, auth.session_revoke_all ==========================================================
SELECT tests.authenticate_as(NULL);
SELECT tests.put('login2', api.login('vera', 'Reset-passphrase-2'));
SELECT tests.put('login3', api.login('vera', 'Reset-passphrase-2'));
SELECT api.authenticate(tests.get('login2', 'token')) IS NOT NULL AS authenticated;
SELECT tests.put('revoked', api.revoke_session());
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_type, target_id, details ->> 'reason', details ->> 'user_id' FROM tests.last_audit('auth.session_revoke')$$,
                  $$VALUES (tests.user_id('vera'), 'session', tests.get('login2', 'session_id'), 'logout', tests.user_id('vera')::text)$$,
                  'api.revoke_session writes auth.session_revoke (actor, session, reason)');
SELECT tests.authenticate_as('adam');
SELECT tests.put('revoked_all', api.revoke_all_sessions(tests.user_id('vera')));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, actor_role, target_type, target_id, (details ->> 'revoked')::int FROM tests.last_audit('auth.session_revoke_all')$$,
                  $$VALUES (tests.user_id('adam'), 'admin', 'user', tests.user_id('vera')::text, 1)$$,
                  'api.revoke_all_sessions writes auth.session_revoke_all (admin actor, target user, count)');

-- == user.role_change, sanction.issue, sanction.revoke, setting.change =====================================
SELECT tests.authenticate_as('adam');
SELECT tests.put('promoted', api.set_user_role(tests.user_id('vera'), 'performer'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, actor_role, target_type, target_id, details ->> 'from', details ->> 'to' FROM tests.last_audit('user.role_change')$$,
                  $$VALUES (tests.user_id('adam'), 'admin', 'user', tests.user_id('vera')::text, 'viewer', 'performer')$$,
                  'api.set_user_role writes user.role_change (admin, target, from, to)');

SELECT tests.authenticate_as('mona');
SELECT tests.put('sanction', api.sanction_user(tests.user_id('dan'), 'warning', 'spamming chat'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, actor_role, target_type, target_id, details ->> 'type', details ->> 'sanction_id' FROM tests.last_audit('sanction.issue')$$,
                  $$VALUES (tests.user_id('mona'), 'moderator', 'user', tests.user_id('dan')::text, 'warning', tests.get('sanction', 'id'))$$,
                  'api.sanction_user writes sanction.issue (moderator, target user, type, sanction id)');
SELECT tests.authenticate_as('mona');
SELECT tests.put('unsanction', api.revoke_sanction(tests.get('sanction', 'id')::uuid, 'appeal accepted'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_type, target_id, details ->> 'sanction_id', details ->> 'reason' FROM tests.last_audit('sanction.revoke')$$,
                  $$VALUES (tests.user_id('mona'), 'user', tests.user_id('dan')::text, tests.get('sanction', 'id'), 'appeal accepted')$$,
                  'api.revoke_sanction writes sanction.revoke (moderator, target user, sanction id, reason)');

SELECT tests.authenticate_as('adam');
SELECT tests.put('setting', api.set_setting('auth.lockout_minutes', '30'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_type, target_id, details -> 'from', details -> 'to' FROM tests.last_audit('setting.change')$$,
                  $$VALUES (tests.user_id('adam'), 'setting', 'auth.lockout_minutes', '15'::jsonb, '30'::jsonb)$$,
                  'api.set_setting writes setting.change (admin, key, old and new value)');

-- == user.delete ===========================================================================================
SELECT tests.authenticate_as('adam');
SELECT tests.put('deleted_dan', api.delete_user(tests.user_id('dan'), 'fraud'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, actor_role, target_type, target_id, details ->> 'reason', (details ->> 'self')::boolean FROM tests.last_audit('user.delete')$$,
                  $$VALUES (tests.user_id('adam'), 'admin', 'user', tests.user_id('dan')::text, 'fraud', false)$$,
                  'api.delete_user by an admin writes user.delete (admin, target, reason)');
SELECT tests.login_as('eve');  -- a user's own deletion wants a recent login
SELECT tests.put('deleted_eve', api.delete_user());
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_id, (details ->> 'self')::boolean FROM tests.last_audit('user.delete')$$,
                  $$VALUES (tests.user_id('eve'), tests.user_id('eve')::text, true)$$,
                  'api.delete_user on oneself writes user.delete (actor = target)');

-- == No secret ever reaches the audit trail ================================================================
SELECT is_empty($$
    SELECT a.id, a.action FROM lp.audit_logs AS a
     WHERE a.details::text ~* ANY (ARRAY[tests.password(), 'N3w-passphrase!', 'Reset-passphrase-2', 'wrong password',
                                         'Not-the-password-1',
                                         '\$2[abxy]\$'])
        OR EXISTS (SELECT 1 FROM tests.ctx AS c
                    WHERE c.value ->> 'token' IS NOT NULL AND strpos(a.details::text, c.value ->> 'token') > 0)
$$, 'no audit row contains a password, a bcrypt hash or a token');
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action IN ('user.register', 'admin.create')), 8::bigint,
          'one audit row per account created (5 fixture users, vera, root2 and root3)');

-- == Failed (raised) calls leave no audit row behind =========================================================
CREATE TABLE tests.audit_count AS SELECT count(*) AS n FROM lp.audit_logs;
SELECT tests.authenticate_as('mona');
SELECT throws_ok($$SELECT api.set_user_role(tests.user_id('vic'), 'admin')$$, 'LP002', NULL, 'a moderator cannot change roles');
SELECT throws_ok($$SELECT api.sanction_user(tests.user_id('adam'), 'ban', 'coup')$$, 'LP002', NULL, 'a moderator cannot sanction an admin');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.audit_logs), (SELECT n FROM tests.audit_count), 'rejected calls write no audit row');

SELECT * FROM finish();
ROLLBACK;
