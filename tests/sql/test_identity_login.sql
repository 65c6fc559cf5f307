-- api.login and api.authenticate: by e-mail or username in any case, in-band failures (LP020/LP022) that
-- count towards the lockout, the lockout itself, malformed arguments (LP018, nothing changed), sanctioned
-- and deleted users; tokens that set the acting user for the transaction, and every way a token is refused.
-- Everything is called as livepanty_app, nobody acting, as the application does.
BEGIN;
SELECT plan(81);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   10_scratch.sql:  tests.put, tests.get(key, field)

-- Helper of this file: a login failure
-- shaped exactly as api.login reports one.
CREATE FUNCTION tests.failure(p_code text DEFAULT 'LP020') RETURNS api.login_result LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(false, p_code, NULL, NULL, NULL, NULL)::api.login_result
$$;
CREATE FUNCTION tests.login_state(p_username text) RETURNS TABLE (failed_login_count integer, locked boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT u.failed_login_count, u.locked_until > now() FROM lp.users AS u WHERE u.id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.counts() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT jsonb_build_object('sessions', (SELECT count(*) FROM lp.auth_sessions),
                              'audit_logs', (SELECT count(*) FROM lp.audit_logs),
                              'failed_logins', (SELECT sum(u.failed_login_count) FROM lp.users AS u),
                              'locked', (SELECT count(u.locked_until) FROM lp.users AS u),
                              'last_logins', (SELECT count(u.last_login_at) FROM lp.users AS u))
$$;
CREATE FUNCTION tests.state() RETURNS text LANGUAGE sql AS $$ SELECT tests.counts()::text $$;  -- for tests.rejects

DO $$
BEGIN
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('lucy');
    PERFORM tests.create_user('sam');
    PERFORM tests.create_user('bob');
    PERFORM tests.create_user('wendy');
    PERFORM tests.create_user('dora');
    PERFORM tests.create_user('adam', 'admin');
    -- sam is suspended, bob banned, wendy only warned; dora is deleted
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, ends_at)
    VALUES (tests.user_id('sam'), 'suspension', 'cooling off', now() + interval '7 days');
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason) VALUES (tests.user_id('bob'), 'ban', 'fraud');
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason) VALUES (tests.user_id('wendy'), 'warning', 'language');
    UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('dora');
END
$$;

-- == Successful logins =====================================================================================
SELECT tests.authenticate_as(NULL);
SELECT tests.put('email', api.login('VERA@EXAMPLE.COM', tests.password(), '203.0.113.9', 'Firefox', '{"os": "linux"}'));
SELECT tests.put('username', api.login('  Vera ', tests.password()));
SELECT tests.put('ttl', api.login('vera', tests.password(), p_ttl => interval '1 hour'));
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT (value ->> 'success')::boolean, value ->> 'error_code', (value ->> 'user_id')::uuid
                      FROM tests.ctx WHERE key IN ('email', 'username', 'ttl')$$,
                  $$VALUES (true, NULL::text, tests.user_id('vera')), (true, NULL, tests.user_id('vera')), (true, NULL, tests.user_id('vera'))$$,
                  'login works by e-mail in any case and by username in any case, with spaces around');
SELECT ok(tests.get('email', 'token') ~ '^[A-Za-z0-9_-]{43}$', 'the token is 43 characters of base64url (256 bits)');
SELECT isnt(tests.get('email', 'token'), tests.get('username', 'token'), 'every login gets its own token');
SELECT results_eq($$SELECT s.token_hash = sha256(convert_to(tests.get('email', 'token'), 'UTF8')), s.ip_address, s.user_agent,
                           s.device_info, s.expires_at = now() + interval '720 hours', s.revoked_at
                      FROM lp.auth_sessions AS s WHERE s.id = tests.get('email', 'session_id')::uuid$$,
                  $$VALUES (true, '203.0.113.9'::inet, 'Firefox', '{"os": "linux"}'::jsonb, true, NULL::timestamptz)$$,
                  'the session stores the token''s SHA-256 only, the IP, user agent and device, and lasts auth.session_ttl_hours');
SELECT is((tests.get('email', 'expires_at'))::timestamptz, now() + interval '720 hours', 'login returns the expiry');
SELECT is((SELECT expires_at FROM lp.auth_sessions WHERE id = tests.get('ttl', 'session_id')::uuid), now() + interval '1 hour',
          'a shorter p_ttl is honoured');
SELECT is((SELECT last_login_at FROM lp.users WHERE id = tests.user_id('vera')), now(), 'login sets last_login_at');
SELECT tests.authenticate_as(NULL);
SELECT is((api.login('wendy', tests.password())).success, true, 'a warning does not block login');
SELECT tests.clear_authentication();

-- == Failures reported in-band: one answer for all ==========================================================
SELECT tests.authenticate_as(NULL);
SELECT is(api.login('vera', 'Wrong-password-1'), tests.failure(), 'wrong password: success false, LP020, nothing else');
SELECT is(tests.login_state('vera'), ROW(1, NULL::boolean)::record, 'a wrong password increments failed_login_count');
SELECT is(api.login('vera@example.com', 'Wrong-password-2'), tests.failure(), 'wrong password by e-mail: LP020');
SELECT is(tests.login_state('vera'), ROW(2, NULL::boolean)::record, 'the counter keeps counting');
SELECT is(api.login('nobody', 'Wrong-password-1'), tests.failure(), 'unknown username: the same answer');
SELECT is(api.login('nobody@example.com', tests.password()), tests.failure(), 'unknown e-mail: the same answer');
SELECT is((api.login('vera', tests.password())).success, true, 'the right password still works after two failures');
SELECT is(tests.login_state('vera'), ROW(0, NULL::boolean)::record, 'a successful login resets the counter');
SELECT is(api.login('dora', tests.password()), tests.failure(), 'a deleted user with the right password: LP020');
SELECT is(api.login('dora@example.com', tests.password()), tests.failure(), 'a deleted user by e-mail: LP020');

-- == Lockout after auth.max_failed_logins (5) ===============================================================
SELECT is((SELECT count(*) FROM (SELECT api.login('lucy', 'Wrong-password-' || i) FROM generate_series(1, 4) AS i) AS f),
          4::bigint, 'four failed logins');
SELECT is(tests.login_state('lucy'), ROW(4, NULL::boolean)::record, 'four failures: counted, not locked');
SELECT is(api.login('lucy', 'Wrong-password-5'), tests.failure(), 'the fifth failure answers LP020');
SELECT is((tests.login_state('lucy')).locked, true, 'the fifth failure locks the account');
SELECT tests.clear_authentication();
SELECT is((SELECT locked_until FROM lp.users WHERE id = tests.user_id('lucy')), now() + interval '15 minutes',
          'locked for auth.lockout_minutes (15)');
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action = 'auth.lockout' AND target_id = tests.user_id('lucy')::text),
          1::bigint, 'the lockout is audited (auth.lockout)');
SELECT tests.authenticate_as(NULL);
SELECT is(api.login('lucy', tests.password()), tests.failure(), 'during the lockout the right password answers LP020 too');
SELECT is(api.login('lucy', 'Wrong-password-6'), tests.failure(), 'during the lockout a wrong password answers LP020');
SELECT is((tests.login_state('lucy')).failed_login_count, 0, 'failures during the lockout do not extend it');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.auth_sessions WHERE user_id = tests.user_id('lucy')), 0::bigint,
          'no session was created for the locked account');
UPDATE lp.users SET locked_until = now() - interval '1 second' WHERE id = tests.user_id('lucy');
SELECT tests.authenticate_as(NULL);
SELECT is((api.login('lucy', tests.password())).success, true, 'once the lockout has passed, the right password works');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT failed_login_count, locked_until FROM lp.users WHERE id = tests.user_id('lucy')$$,
                  $$VALUES (0, NULL::timestamptz)$$, 'a successful login clears the lockout');

-- == Sanctioned users (LP022 only after the right password) ================================================
SELECT tests.authenticate_as(NULL);
SELECT is(api.login('sam', tests.password()), tests.failure('LP022'), 'a suspended user with the right password gets LP022');
SELECT is(api.login('bob', tests.password()), tests.failure('LP022'), 'a banned user with the right password gets LP022');
SELECT is(api.login('bob', 'Wrong-password-1'), tests.failure(), 'a banned user with a wrong password gets LP020 (nothing revealed)');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.auth_sessions WHERE user_id IN (tests.user_id('sam'), tests.user_id('bob'))), 0::bigint,
          'sanctioned users get no session');
UPDATE lp.user_sanctions SET starts_at = now() - interval '10 days', ends_at = now() - interval '1 day'
 WHERE user_id = tests.user_id('sam');
UPDATE lp.user_sanctions SET revoked_at = now(), revoke_reason = 'appeal' WHERE user_id = tests.user_id('bob');
SELECT tests.authenticate_as(NULL);
SELECT is((api.login('sam', tests.password())).success, true, 'an expired suspension no longer blocks login');
SELECT is((api.login('bob', tests.password())).success, true, 'a revoked ban no longer blocks login');

-- == Malformed arguments raise LP018 and change nothing =====================================================
SELECT * FROM tests.rejects($$SELECT api.login('', tests.password())$$, 'LP018', 'login: empty login is LP018');
SELECT * FROM tests.rejects($$SELECT api.login('   ', tests.password())$$, 'LP018', 'login: blank login is LP018');
SELECT * FROM tests.rejects($$SELECT api.login(NULL, tests.password())$$, 'LP018', 'login: NULL login is LP018');
SELECT * FROM tests.rejects($$SELECT api.login(repeat('v', 255), tests.password())$$, 'LP018', 'login: a login over 254 characters is LP018');
SELECT * FROM tests.rejects($$SELECT api.login('vera', NULL)$$, 'LP018', 'login: NULL password is LP018');
SELECT * FROM tests.rejects($$SELECT api.login('vera', '')$$, 'LP018', 'login: empty password is LP018');
SELECT * FROM tests.rejects($$SELECT api.login('vera', repeat('x', 1025))$$, 'LP018', 'login: a password over 1024 bytes is LP018');
SELECT * FROM tests.rejects($$SELECT api.login('vera', tests.password(), p_device_info => '["phone"]')$$, 'LP018',
                            'login: device_info that is not a JSON object is LP018');
SELECT * FROM tests.rejects($$SELECT api.login('vera', tests.password(), p_user_agent => repeat('u', 513))$$, 'LP018',
                            'login: a user agent over 512 characters is LP018');
SELECT * FROM tests.rejects($$SELECT api.login('vera', tests.password(), p_ttl => interval '4 minutes')$$, 'LP018',
                            'login: a ttl under 5 minutes is LP018');
SELECT * FROM tests.rejects($$SELECT api.login('vera', tests.password(), p_ttl => interval '721 hours')$$, 'LP018',
                            'login: a ttl over auth.session_ttl_hours is LP018');
SELECT * FROM tests.rejects($$SELECT api.login('vera', 'Wrong-password-1', p_ttl => interval '-1 hour')$$, 'LP018',
                            'login: malformed arguments are refused before the password is even checked');

-- == api.authenticate ======================================================================================
SELECT tests.authenticate_as(NULL);
SELECT results_eq(format('SELECT user_id, session_id, role::text, expires_at FROM api.authenticate(%L)', tests.get('email', 'token')),
                  format('VALUES (%L::uuid, %L::uuid, ''viewer'', %L::timestamptz)', tests.user_id('vera'),
                         tests.get('email', 'session_id'), tests.get('email', 'expires_at')),
                  'api.authenticate returns the user, session, role and expiry of a valid token');
SELECT is(api.current_user_id(), tests.user_id('vera'), 'after api.authenticate, api.current_user_id() is the token''s user');
SELECT is(current_setting('lp.session_id'), tests.get('email', 'session_id'), 'and lp.session_id is the token''s session');
SELECT is(lp.current_user_role(), 'viewer', 'and lp.current_user_role() is the user''s platform role');
SELECT set_eq($$SELECT username::text FROM lp.users$$, ARRAY['vera'], 'and RLS now shows the user their own account');
SELECT set_eq($$SELECT is_current FROM api.list_sessions() WHERE id = tests.get('email', 'session_id')::uuid$$, ARRAY[true],
              'the authenticated session is marked current');

SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT api.authenticate('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')$$, 'LP023', NULL, 'authenticate: an unknown token is LP023');
SELECT throws_ok($$SELECT api.authenticate('short')$$, 'LP023', NULL, 'authenticate: a token of the wrong length is LP023');
SELECT throws_ok($$SELECT api.authenticate('')$$, 'LP023', NULL, 'authenticate: an empty token is LP023');
SELECT throws_ok($$SELECT api.authenticate(NULL)$$, 'LP023', NULL, 'authenticate: a NULL token is LP023');
SELECT is(api.current_user_id(), NULL, 'a refused token leaves nobody acting');

-- revoked
SELECT tests.put('revoked', api.login('vera', tests.password()));
SELECT tests.authenticate_as('vera');
SELECT lives_ok(format('SELECT api.revoke_session(%L)', tests.get('revoked', 'session_id')), 'vera revokes a session');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.authenticate(%L)', tests.get('revoked', 'token')), 'LP023', NULL, 'authenticate: a revoked token is LP023');
-- expired
SELECT tests.put('expired', api.login('vera', tests.password()));
SELECT tests.clear_authentication();
UPDATE lp.auth_sessions SET created_at = now() - interval '2 days', last_seen_at = now() - interval '2 days',
                            expires_at = now() - interval '1 second'
 WHERE id = tests.get('expired', 'session_id')::uuid;
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.authenticate(%L)', tests.get('expired', 'token')), 'LP023', NULL, 'authenticate: an expired token is LP023');
-- refreshed last_seen_at
SELECT tests.put('stale', api.login('vera', tests.password()));
SELECT tests.clear_authentication();
UPDATE lp.auth_sessions SET created_at = now() - interval '1 hour', last_seen_at = now() - interval '5 minutes'
 WHERE id = tests.get('stale', 'session_id')::uuid;
SELECT tests.authenticate_as(NULL);
SELECT lives_ok(format('SELECT api.authenticate(%L)', tests.get('stale', 'token')), 'authenticate: a session last seen 5 minutes ago');
SELECT tests.clear_authentication();
SELECT is((SELECT last_seen_at FROM lp.auth_sessions WHERE id = tests.get('stale', 'session_id')::uuid), now(),
          'authenticate refreshes last_seen_at when it is older than a minute');
-- a sanctioned user with a live session (sanction recorded directly, sessions left alive)
SELECT tests.authenticate_as(NULL);
SELECT tests.put('to_suspend', api.login('wendy', tests.password()));
SELECT tests.authenticate_as(NULL);
SELECT lives_ok(format('SELECT api.authenticate(%L)', tests.get('to_suspend', 'token')),
                'authenticate: a warned user''s token authenticates (an unrevoked sanction that blocks nothing)');
SELECT tests.clear_authentication();
INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, ends_at)
VALUES (tests.user_id('wendy'), 'suspension', 'again', now() + interval '1 day');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.authenticate(%L)', tests.get('to_suspend', 'token')), 'LP022', NULL,
                 'authenticate: a suspended user''s token is LP022');
SELECT tests.clear_authentication();
UPDATE lp.user_sanctions SET revoked_at = now(), revoke_reason = 'lifted'
 WHERE user_id = tests.user_id('wendy') AND sanction_type = 'suspension';
SELECT tests.authenticate_as(NULL);
SELECT lives_ok(format('SELECT api.authenticate(%L)', tests.get('to_suspend', 'token')),
                'authenticate: a revoked suspension no longer blocks the token');
-- a deleted user with a live session
SELECT tests.put('to_delete', api.login('sam', tests.password()));
SELECT tests.clear_authentication();
UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('sam');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.authenticate(%L)', tests.get('to_delete', 'token')), 'LP023', NULL,
                 'authenticate: a deleted user''s token is LP023');
SELECT tests.authenticate_as(NULL, 'livepanty_readonly');
SELECT throws_ok(format('SELECT api.authenticate(%L)', tests.get('username', 'token')), '42501', NULL,
                 'livepanty_readonly may not authenticate');

SELECT tests.clear_authentication();
SELECT * FROM finish();
ROLLBACK;
