-- Sessions (api.list_sessions, api.revoke_session, api.revoke_all_sessions), api.change_password and the
-- password reset (api.request_password_reset, api.reset_password): owners act on their own, admins on
-- anyone's, every rejection with its SQLSTATE. Calls run as livepanty_app.
BEGIN;
SELECT plan(83);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   10_scratch.sql:  tests.put, tests.get(key, field)

-- Helpers of this file: the state of a session, logging in and using a token.
-- Log in (as whoever is in force) and keep the result under p_key.
CREATE FUNCTION tests.login(p_key text, p_login text, p_password text DEFAULT tests.password()) RETURNS text
    LANGUAGE sql AS $$
    SELECT tests.put(p_key, api.login(p_login, p_password))
$$;
-- 'live', or the revoke reason (works under any role).
CREATE FUNCTION tests.session_state(p_key text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce(s.revoke_reason, CASE WHEN s.expires_at > now() THEN 'live' ELSE 'expired' END)
      FROM lp.auth_sessions AS s WHERE s.id = tests.get(p_key, 'session_id')::uuid
$$;
CREATE FUNCTION tests.session_id(p_key text) RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT tests.get(p_key, 'session_id')::uuid
$$;
-- Become the token's user the way the application does: as livepanty_app, through api.authenticate.
CREATE FUNCTION tests.use_token(p_key text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tests.authenticate_as(NULL);
    PERFORM api.authenticate(tests.get(p_key, 'token'));
    RETURN '# authenticated with ' || p_key;
END
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('victor');
    PERFORM tests.create_user('carl');
    PERFORM tests.create_user('rita');
    PERFORM tests.create_user('dora');
    PERFORM tests.create_user('adam', 'admin');
END
$$;
SELECT tests.login('v1', 'vera'), tests.login('v2', 'vera'), tests.login('v3', 'vera'), tests.login('x1', 'victor'),
       tests.login('a1', 'adam');

-- Acting without a session, before anything in this connection has set lp.session_id (the back office's
-- api.act_as, the Python client's acting_as): no session is current, and is_current says false, not NULL.
SELECT lp.set_identity(tests.user_id('vera'), NULL, 'service');
SET LOCAL ROLE livepanty_app;
SELECT set_eq($$SELECT is_current FROM api.list_sessions()$$, ARRAY[false, false, false],
              'list_sessions without a current session: is_current is false (not NULL) for every session');
RESET ROLE;

-- == api.list_sessions =====================================================================================
SELECT tests.use_token('v1');
SELECT set_eq($$SELECT id, is_current FROM api.list_sessions()$$,
              format('VALUES (%L::uuid, true), (%L::uuid, false), (%L::uuid, false)',
                     tests.session_id('v1'), tests.session_id('v2'), tests.session_id('v3')),
              'list_sessions: the acting user''s live sessions, the current one marked');
SELECT is_empty($$SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = 'api.session_info'::regclass AND attname ~ 'token'$$,
                'api.session_info carries neither the token nor its hash');
SELECT throws_ok(format('SELECT * FROM api.list_sessions(%L)', tests.user_id('victor')), 'LP002', NULL,
                 'list_sessions: a viewer listing another user''s sessions is LP002');
SELECT tests.use_token('a1');
SELECT set_eq(format('SELECT id FROM api.list_sessions(%L)', tests.user_id('victor')), ARRAY[tests.session_id('x1')],
              'list_sessions: an admin lists any user''s sessions');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT * FROM api.list_sessions()$$, 'LP001', NULL, 'list_sessions: nobody acting is LP001');

-- == api.revoke_session ====================================================================================
SELECT tests.use_token('v1');
SELECT results_eq(format('SELECT id, revoke_reason, is_current FROM api.revoke_session(%L)', tests.session_id('v2')),
                  format('VALUES (%L::uuid, ''logout'', false)', tests.session_id('v2')),
                  'revoke_session: a user revokes one of their other sessions (reason logout)');
SELECT is(tests.session_state('v2'), 'logout', 'the session is revoked');
SELECT throws_ok(format('SELECT api.revoke_session(%L)', tests.session_id('v2')), 'LP004', NULL,
                 'revoke_session: revoking it twice is LP004');
SELECT throws_ok(format('SELECT api.revoke_session(%L)', tests.session_id('x1')), 'LP003', NULL,
                 'revoke_session: another user''s session is LP003 (looks missing)');
SELECT is(tests.session_state('x1'), 'live', 'the other user''s session is untouched');
SELECT throws_ok(format('SELECT api.revoke_session(%L)', gen_random_uuid()), 'LP003', NULL,
                 'revoke_session: an unknown session is LP003');
SELECT set_eq($$SELECT id FROM api.list_sessions()$$, ARRAY[tests.session_id('v1'), tests.session_id('v3')],
              'list_sessions leaves revoked sessions out by default');
SELECT set_eq($$SELECT id FROM api.list_sessions(p_include_ended => true)$$,
              ARRAY[tests.session_id('v1'), tests.session_id('v2'), tests.session_id('v3')],
              'list_sessions(p_include_ended => true) includes them');
SELECT results_eq($$SELECT revoke_reason, is_current FROM api.revoke_session()$$, $$VALUES ('logout', true)$$,
                  'revoke_session() without an id logs out of the current session');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.authenticate(%L)', tests.get('v1', 'token')), 'LP023', NULL,
                 'the logged-out token no longer authenticates');
SELECT tests.authenticate_as('vera');
SELECT throws_ok($$SELECT api.revoke_session()$$, 'LP018', NULL,
                 'revoke_session() with no current session (acting through lp.user_id only) is LP018');
SELECT tests.use_token('a1');
SELECT results_eq(format('SELECT user_id, revoke_reason FROM api.revoke_session(%L)', tests.session_id('v3')),
                  format('VALUES (%L::uuid, ''admin'')', tests.user_id('vera')),
                  'revoke_session: an admin revokes another user''s session (reason admin)');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.revoke_session(%L)', tests.session_id('x1')), 'LP001', NULL,
                 'revoke_session: nobody acting is LP001');

-- == api.revoke_all_sessions ===============================================================================
SELECT tests.login('v4', 'vera'), tests.login('v5', 'vera'), tests.login('v6', 'vera');
SELECT tests.use_token('v4');
SELECT is(api.revoke_all_sessions(p_keep_current => true), 2, 'revoke_all_sessions(keep current) revokes the others and says how many');
SELECT is(ARRAY[tests.session_state('v4'), tests.session_state('v5'), tests.session_state('v6')], ARRAY['live', 'logout_all', 'logout_all'],
          'the current session is kept, the others are revoked (reason logout_all)');
SELECT is(api.revoke_all_sessions(), 1, 'revoke_all_sessions() revokes the current one too');
SELECT is(tests.session_state('v4'), 'logout_all', 'so the user is logged out everywhere');
SELECT is(api.revoke_all_sessions(), 0, 'revoke_all_sessions with nothing left to revoke returns 0');
SELECT throws_ok(format('SELECT api.revoke_all_sessions(%L)', tests.user_id('victor')), 'LP002', NULL,
                 'revoke_all_sessions: a viewer revoking another user''s sessions is LP002');
SELECT is(tests.session_state('x1'), 'live', 'the other user''s session is untouched');
SELECT tests.use_token('a1');
SELECT is(api.revoke_all_sessions(tests.user_id('victor')), 1, 'revoke_all_sessions: an admin revokes any user''s sessions');
SELECT is(tests.session_state('x1'), 'admin', 'with reason admin');
SELECT throws_ok(format('SELECT api.revoke_all_sessions(%L)', gen_random_uuid()), 'LP003', NULL,
                 'revoke_all_sessions: an unknown user is LP003');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT api.revoke_all_sessions()$$, 'LP001', NULL, 'revoke_all_sessions: nobody acting is LP001');

-- == api.change_password ===================================================================================
SELECT tests.login('c1', 'carl'), tests.login('c2', 'carl'), tests.login('c3', 'carl');
SELECT tests.use_token('c1');
SELECT is(api.change_password('Not-my-password-1', 'Brand-new-pass-1'), ROW(false, 'LP020', 0)::api.password_change_result,
          'change_password: a wrong current password is answered in-band (success false, LP020)');
SELECT is((SELECT failed_login_count FROM lp.users WHERE id = tests.user_id('carl')), 1,
          'change_password: a wrong current password counts like a failed login');
SELECT throws_ok($$SELECT api.change_password(tests.password(), NULL)$$, 'LP012', NULL, 'change_password: a NULL new password is LP012');
SELECT throws_ok($$SELECT api.change_password(tests.password(), repeat('Aa1', 400))$$, 'LP012', NULL, 'change_password: an oversized new password is LP012');
SELECT throws_ok($$SELECT api.change_password(NULL, 'Brand-new-pass-1')$$, 'LP018', NULL, 'change_password: a NULL current password is LP018');
SELECT throws_ok($$SELECT api.change_password('', 'Brand-new-pass-1')$$, 'LP018', NULL, 'change_password: an empty current password is LP018');
SELECT throws_ok($$SELECT api.change_password(tests.password(), tests.password())$$, 'LP027', NULL,
                 'change_password: the same password again is LP027');
SELECT throws_ok($$SELECT api.change_password(tests.password(), 'short-1')$$, 'LP012', NULL, 'change_password: a short new password is LP012');
SELECT throws_ok($$SELECT api.change_password(tests.password(), 'onlyletters')$$, 'LP012', NULL, 'change_password: a letters-only new password is LP012');
SELECT throws_ok($$SELECT api.change_password(tests.password(), 'Carl-is-great-1')$$, 'LP012', NULL,
                 'change_password: a new password containing the username is LP012');
SELECT is(ARRAY[tests.session_state('c1'), tests.session_state('c2'), tests.session_state('c3')], ARRAY['live', 'live', 'live'],
          'rejected changes revoke nothing');
SELECT is(api.change_password(tests.password(), 'Brand-new-pass-1', '203.0.113.1'), ROW(true, NULL, 2)::api.password_change_result,
          'change_password works and returns how many other sessions it revoked');
SELECT is((SELECT failed_login_count FROM lp.users WHERE id = tests.user_id('carl')), 0,
          'a successful change resets the failure counter');
SELECT is(ARRAY[tests.session_state('c1'), tests.session_state('c2'), tests.session_state('c3')], ARRAY['live', 'password_change', 'password_change'],
          'the current session is kept, every other one revoked (reason password_change)');
SELECT tests.authenticate_as(NULL);
SELECT is((api.login('carl', tests.password())).error_code, 'LP020', 'the old password no longer logs in');
SELECT is((api.login('carl', 'Brand-new-pass-1')).success, true, 'the new password logs in');
SELECT tests.clear_authentication();
SELECT is((SELECT password_changed_at FROM lp.users WHERE id = tests.user_id('carl')), now(), 'password_changed_at is set');
SELECT tests.authenticate_as('carl');
SELECT is((api.change_password('Brand-new-pass-1', 'Other-new-pass-2')).sessions_revoked, 2,
          'change_password without a current session (acting through lp.user_id) revokes every session');
-- auth.max_failed_logins wrong current passwords lock the account and end every session
SELECT tests.authenticate_as(NULL);
SELECT tests.login('c4', 'carl', 'Other-new-pass-2'), tests.login('c5', 'carl', 'Other-new-pass-2');
SELECT tests.use_token('c4');
SELECT is(array_agg((api.change_password('Guess-number-' || i, 'Brand-new-pass-9')).error_code), array_fill('LP020'::text, ARRAY[4]),
          'four wrong current passwords: four in-band LP020 answers')
  FROM generate_series(1, 4) AS i;
SELECT is(ARRAY[tests.session_state('c4'), tests.session_state('c5')], ARRAY['live', 'live'], 'four failures revoke nothing');
SELECT is(api.change_password('Guess-number-5', 'Brand-new-pass-9'), ROW(false, 'LP020', 2)::api.password_change_result,
          'the fifth wrong current password locks the account and reports the sessions it ended');
SELECT is(ARRAY[tests.session_state('c4'), tests.session_state('c5')], ARRAY['password_change', 'password_change'],
          'every session of the locked account is revoked, the current one included');
SELECT tests.clear_authentication();
SELECT is((SELECT locked_until FROM lp.users WHERE id = tests.user_id('carl')), now() + interval '15 minutes',
          'the account is locked for auth.lockout_minutes');
SELECT tests.authenticate_as(NULL);
SELECT is((api.login('carl', 'Other-new-pass-2')).error_code, 'LP020', 'the locked account cannot log in, even with the right password');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT api.change_password(tests.password(), 'Brand-new-pass-1')$$, 'LP001', NULL, 'change_password: nobody acting is LP001');

-- == api.request_password_reset ============================================================================
-- The token goes to the mailer only (lp.outbox; tests/sql/test_outbox.sql). This file reads it from there and
-- lets requests follow each other at once (no throttle).
SELECT tests.clear_authentication();
UPDATE lp.settings SET value = '0' WHERE key = 'auth.reset_request_interval_seconds';
SELECT tests.authenticate_as(NULL);
SELECT api.request_password_reset('  RITA@example.COM ', '203.0.113.2');
SELECT tests.put('r1', tests.reset_payload('rita'));
SELECT ok(tests.get('r1', 'token') ~ '^[A-Za-z0-9_-]{43}$', 'a reset request for a known address (any case) queues an e-mail with a 43-character token');
SELECT is(tests.get('r1', 'expires_at')::timestamptz, now() + interval '60 minutes', 'valid for auth.reset_token_ttl_minutes (60)');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT token_hash = sha256(convert_to(tests.get('r1', 'token'), 'UTF8')), requested_ip, used_at, revoked_at
                      FROM lp.password_reset_tokens WHERE user_id = tests.user_id('rita')$$,
                  $$VALUES (true, '203.0.113.2'::inet, NULL::timestamptz, NULL::timestamptz)$$,
                  'only the token''s SHA-256 is stored, with the requesting IP');
SELECT tests.authenticate_as(NULL);
SELECT lives_ok($$SELECT api.request_password_reset('ghost@example.com')$$,
               'an unknown address gets the same answer (nothing)');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.password_reset_tokens), 1::bigint, 'and stores nothing');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT api.request_password_reset('not an address')$$, 'LP010', NULL, 'request_password_reset: an invalid address is LP010');
SELECT throws_ok($$SELECT api.request_password_reset(NULL)$$, 'LP010', NULL, 'request_password_reset: a NULL address is LP010');

-- == api.reset_password ====================================================================================
-- rita is locked out and has two sessions when she resets
SELECT tests.login('rs1', 'rita'), tests.login('rs2', 'rita');
SELECT count(api.login('rita', 'Wrong-password-' || i)) AS failures FROM generate_series(1, 5) AS i;
SELECT tests.clear_authentication();
SELECT isnt((SELECT locked_until FROM lp.users WHERE id = tests.user_id('rita')), NULL, 'rita is locked out');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.reset_password(%L, %L)', tests.get('r1', 'token'), 'weakpassword'), 'LP012', NULL,
                 'reset_password: a weak new password is LP012');
SELECT throws_ok(format('SELECT api.reset_password(%L, %L)', tests.get('r1', 'token'), 'Rita-rocks-1'), 'LP012', NULL,
                 'reset_password: a new password containing the username is LP012');
SELECT throws_ok(format('SELECT api.reset_password(%L, %L)', tests.get('r1', 'token'), tests.password()), 'LP027', NULL,
                 'reset_password: the current password again is LP027');
SELECT is(api.reset_password(tests.get('r1', 'token'), 'Fresh-start-2024', '203.0.113.3'), tests.user_id('rita'),
          'reset_password works with the token (still unused after the weak attempts) and returns the user id');
SELECT is(ARRAY[tests.session_state('rs1'), tests.session_state('rs2')], ARRAY['password_reset', 'password_reset'],
          'a reset revokes every session (reason password_reset)');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT failed_login_count, locked_until, password_changed_at FROM lp.users WHERE id = tests.user_id('rita')$$,
                  $$VALUES (0, NULL::timestamptz, now())$$, 'a reset clears the lockout');
SELECT isnt((SELECT used_at FROM lp.password_reset_tokens WHERE token_hash = sha256(convert_to(tests.get('r1', 'token'), 'UTF8'))),
            NULL, 'the token is marked used');
SELECT tests.authenticate_as(NULL);
SELECT is((api.login('rita', 'Fresh-start-2024')).success, true, 'the new password logs in at once');
SELECT is((api.login('rita', tests.password())).error_code, 'LP020', 'the old one does not');
SELECT throws_ok(format('SELECT api.reset_password(%L, %L)', tests.get('r1', 'token'), 'Another-start-1'), 'LP026', NULL,
                 'reset_password: a token works once; the second time is LP026');

-- expired
SELECT api.request_password_reset('rita@example.com');
SELECT tests.put('r2', tests.reset_payload('rita'));
SELECT tests.clear_authentication();
UPDATE lp.password_reset_tokens SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour'
 WHERE token_hash = sha256(convert_to(tests.get('r2', 'token'), 'UTF8'));
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.reset_password(%L, %L)', tests.get('r2', 'token'), 'Another-start-1'), 'LP025', NULL,
                 'reset_password: an expired token is LP025');
-- superseded
SELECT api.request_password_reset('rita@example.com');
SELECT tests.put('r3', tests.reset_payload('rita'));
SELECT api.request_password_reset('rita@example.com');
SELECT tests.put('r4', tests.reset_payload('rita'));
SELECT throws_ok(format('SELECT api.reset_password(%L, %L)', tests.get('r3', 'token'), 'Another-start-1'), 'LP025', NULL,
                 'reset_password: a token superseded by a newer request is LP025');
SELECT is(api.reset_password(tests.get('r4', 'token'), 'Another-start-1'), tests.user_id('rita'), 'the newest token works');
-- unknown and malformed
SELECT throws_ok($$SELECT api.reset_password('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'Another-start-2')$$, 'LP024', NULL,
                 'reset_password: an unknown token is LP024');
SELECT throws_ok($$SELECT api.reset_password('too-short', 'Another-start-2')$$, 'LP024', NULL, 'reset_password: a malformed token is LP024');
SELECT throws_ok($$SELECT api.reset_password(NULL, 'Another-start-2')$$, 'LP024', NULL, 'reset_password: a NULL token is LP024');
-- the user is deleted after asking
SELECT api.request_password_reset('dora@example.com');
SELECT tests.put('d1', tests.reset_payload('dora'));
SELECT tests.login_as('dora');  -- a user's own deletion wants a recent login
SELECT lives_ok($$SELECT api.delete_user()$$, 'dora deletes her account after asking for a reset');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.reset_password(%L, %L)', tests.get('d1', 'token'), 'Another-start-1'), 'LP025', NULL,
                 'reset_password: the token of a user deleted since is LP025 (revoked with the account)');
SELECT api.request_password_reset('victor@example.com');
SELECT tests.put('d2', tests.reset_payload('victor'));
SELECT tests.clear_authentication();
UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('victor');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.reset_password(%L, %L)', tests.get('d2', 'token'), 'Another-start-1'), 'LP024', NULL,
                 'reset_password: a live token whose user was deleted is LP024');
SELECT api.request_password_reset('victor@example.com');
SELECT is(tests.reset_token('victor'), tests.get('d2', 'token'), 'a deleted user''s address queues no new e-mail');

SELECT tests.clear_authentication();
SELECT * FROM finish();
ROLLBACK;
