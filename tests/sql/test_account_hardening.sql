-- What an attacker with the application's login and a stolen (old) session token cannot do to an account:
--   1. delete it: a user's own deletion (api.delete_user) wants a recent login, as api.request_erasure does
--      (lp.require_recent_login, privacy.erasure_login_minutes; LP171 otherwise), an admin's of themselves
--      included. An admin's deletion of another user is an admin action and wants none;
--   2. keep an old, cheap password hash: a successful api.login re-hashes the password when the stored bcrypt
--      cost is not auth.bcrypt_cost (raised or lowered), nothing else does;
--   3. (a known limit, README) lock the owner out for good: what the owner keeps while someone keeps their
--      account locked with wrong passwords (their sessions; a password reset or api.unlock_user ends it);
--   4. test the current password through api.change_password without it counting: a refused new password
--      (LP012 weak, LP027 the same twice) is refused alike whether the current password given is right or
--      wrong, and counts nothing (it used to answer a wrong one with LP020 in-band and a right one with LP012).
BEGIN;
SELECT plan(81);

-- Helpers of this file.
CREATE FUNCTION tests.counts() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT jsonb_build_object('deleted', (SELECT count(u.deleted_at) FROM lp.users AS u),
                              'revoked', (SELECT count(s.revoked_at) FROM lp.auth_sessions AS s),
                              'audit_logs', (SELECT count(*) FROM lp.audit_logs))
$$;
CREATE FUNCTION tests.state() RETURNS text LANGUAGE sql AS $$ SELECT tests.counts()::text $$;  -- for tests.rejects
CREATE FUNCTION tests.deleted(p_username text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT u.deleted_at IS NOT NULL FROM lp.users AS u WHERE u.id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.stored_hash(p_username text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT u.password_hash FROM lp.users AS u WHERE u.id = tests.user_id(p_username)
$$;
-- The bcrypt cost field of the stored hash ($2a$NN$...).
CREATE FUNCTION tests.hash_cost(p_username text) RETURNS integer
    LANGUAGE sql STABLE AS $$
    SELECT (substring(tests.stored_hash(p_username) FROM '^\$2[abxy]\$([0-9]{2})\$'))::integer
$$;
-- Log in as the superuser (no identity in force): the outcome, the token kept under p_key.
CREATE FUNCTION tests.try_login(p_login text, p_password text, p_key text DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_login api.login_result;
BEGIN
    PERFORM tests.clear_authentication();
    v_login := api.login(p_login, p_password);
    IF p_key IS NOT NULL THEN
        PERFORM tests.put(p_key, v_login);
    END IF;
    RETURN coalesce(v_login.error_code, 'ok');
END
$$;
-- Act through an existing session token (as livepanty_app, through api.authenticate).
CREATE FUNCTION tests.use_session(p_key text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tests.clear_authentication();
    PERFORM set_config('role', 'livepanty_app', true);
    PERFORM api.authenticate(tests.get(p_key, 'token'));
    RETURN '# acting through the session ' || p_key;
END
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('olly');
    PERFORM tests.create_user('wes');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('abe', 'admin');
    PERFORM tests.create_user('tom');
    PERFORM tests.create_user('hana');
    PERFORM tests.create_user('gwen');
END
$$;

-- == 1. A user's own deletion wants a recent login ========================================================
-- Deny: a proven identity without a session of the user (a stolen identity has no login behind it).
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects($$SELECT api.delete_user(NULL, 'stolen')$$, 'LP171',
                            'delete_user: oneself without a session of one''s own (no login proof) is LP171');
-- Deny: the back office acting in the user's name (api.act_as has no session).
SELECT tests.clear_authentication();
SELECT set_config('role', 'livepanty_service', true);
SELECT api.act_as(tests.user_id('vic'), 'ticket 9');
SELECT * FROM tests.rejects($$SELECT api.delete_user()$$, 'LP171',
                            'delete_user: the back office acting in the user''s name is LP171');
-- Deny: a real session, opened 11 minutes ago (privacy.erasure_login_minutes 10): a stolen long-lived token.
SELECT tests.try_login('vic', tests.password(), 'vic_old');
UPDATE lp.auth_sessions SET created_at = now() - interval '11 minutes' WHERE id = tests.get('vic_old', 'session_id')::uuid;
SELECT tests.use_session('vic_old');
SELECT * FROM tests.rejects($$SELECT api.delete_user(p_reason => 'stolen token')$$, 'LP171',
                            'delete_user: oneself through a session opened 11 minutes ago is LP171');
SELECT * FROM tests.rejects(format($$SELECT api.delete_user(%L)$$, tests.user_id('vic')), 'LP171',
                            'delete_user: naming one''s own id is the same (LP171)');
SELECT is(tests.deleted('vic'), false, 'vic is not deleted');
-- A moderator is not an admin: the same rule.
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects($$SELECT api.delete_user()$$, 'LP171', 'delete_user: a moderator deleting themself without a recent login is LP171');
-- Still first: another user's deletion by a non-admin is LP002 (recent login or not).
SELECT tests.use_session('vic_old');
SELECT * FROM tests.rejects(format($$SELECT api.delete_user(%L)$$, tests.user_id('wes')), 'LP002',
                            'delete_user: another user is still LP002 for a non-admin');
-- The window is the setting: at 15 minutes the 11-minute-old session is recent enough.
SELECT tests.clear_authentication();
SELECT tests.cfg('privacy.erasure_login_minutes', '15');
SELECT tests.use_session('vic_old');
SELECT ok((api.delete_user(p_reason => 'bye')).deleted_at IS NOT NULL,
          'delete_user: a session within privacy.erasure_login_minutes (now 15) may delete its own account');
SELECT tests.clear_authentication();
SELECT tests.cfg('privacy.erasure_login_minutes', '10');
-- Allow: a fresh login.
SELECT tests.login_as('olly');
SELECT ok((api.delete_user(p_reason => 'leaving')).deleted_at IS NOT NULL,
          'delete_user: oneself through a session opened by a login just now');
SELECT tests.clear_authentication();
SELECT is(ARRAY[tests.deleted('vic'), tests.deleted('olly')], ARRAY[true, true], 'both accounts are deleted');
SELECT is((SELECT (details ->> 'self')::boolean FROM lp.audit_logs
            WHERE action = 'user.delete' AND target_id = tests.user_id('olly')::text), true,
          'audited as user.delete, self');
-- Unchanged: an admin deletes another user with no session (the back office, the CLI): an admin action.
SELECT tests.authenticate_as('ada');
SELECT ok((api.delete_user(tests.user_id('wes'), 'spam')).deleted_at IS NOT NULL,
          'delete_user: an admin deletes another user without a recent login');
SELECT ok((api.delete_user(tests.user_id('mona'), 'left')).deleted_at IS NOT NULL,
          'delete_user: an admin deletes a moderator without a recent login');
-- An admin's own deletion wants the recent login too: a stolen admin session cannot close the admin's account.
SELECT * FROM tests.rejects($$SELECT api.delete_user(NULL, 'no login')$$, 'LP171',
                            'delete_user: an admin deleting themself without a session of their own is LP171');
SELECT tests.try_login('ada', tests.password(), 'ada_old');
UPDATE lp.auth_sessions SET created_at = now() - interval '11 minutes' WHERE id = tests.get('ada_old', 'session_id')::uuid;
SELECT tests.use_session('ada_old');
SELECT * FROM tests.rejects($$SELECT api.delete_user(p_reason => 'stolen admin token')$$, 'LP171',
                            'delete_user: an admin deleting themself through a session opened 11 minutes ago is LP171');
SELECT * FROM tests.rejects(format($$SELECT api.delete_user(%L)$$, tests.user_id('ada')), 'LP171',
                            'delete_user: an admin naming their own id is the same (LP171)');
SELECT is(tests.deleted('ada'), false, 'ada is not deleted');
-- Through that old session, deleting another user is still an admin action (no recent login wanted).
SELECT ok((api.delete_user(tests.user_id('tom'), 'spam')).deleted_at IS NOT NULL,
          'delete_user: an admin deletes another user through a session opened 11 minutes ago');
SELECT is((SELECT (details ->> 'self')::boolean FROM lp.audit_logs
            WHERE action = 'user.delete' AND target_id = tests.user_id('tom')::text), false,
          'audited as user.delete, not self');
-- The last-admin rule still holds behind the recent login: abe's old session is LP171 first, then his fresh
-- login may delete his account while ada remains, after which ada, the last admin, is LP030 even freshly logged in.
SELECT tests.try_login('abe', tests.password(), 'abe_old');
UPDATE lp.auth_sessions SET created_at = now() - interval '11 minutes' WHERE id = tests.get('abe_old', 'session_id')::uuid;
SELECT tests.use_session('abe_old');
SELECT * FROM tests.rejects($$SELECT api.delete_user()$$, 'LP171',
                            'delete_user: abe (an admin) deleting himself through an old session is LP171');
SELECT tests.login_as('abe');
SELECT ok((api.delete_user(NULL, 'handing over')).deleted_at IS NOT NULL,
          'delete_user: an admin deletes themself through a fresh login (another admin remains)');
SELECT tests.clear_authentication();
SELECT is((SELECT (details ->> 'self')::boolean FROM lp.audit_logs
            WHERE action = 'user.delete' AND target_id = tests.user_id('abe')::text), true,
          'audited as user.delete, self');
SELECT tests.login_as('ada');
SELECT * FROM tests.rejects($$SELECT api.delete_user()$$, 'LP030',
                            'delete_user: the last admin, freshly logged in, still cannot delete themself (LP030)');
SELECT tests.clear_authentication();
SELECT is(ARRAY[tests.deleted('ada'), tests.deleted('abe'), tests.deleted('tom')], ARRAY[false, true, true],
          'ada remains; abe and tom are deleted');

-- == 2. A successful login re-hashes at auth.bcrypt_cost ===================================================
SELECT tests.clear_authentication();
SELECT tests.cfg('auth.bcrypt_cost', '4');
SELECT tests.create_user('ivy');
SELECT is(tests.hash_cost('ivy'), 4, 'ivy''s password is hashed at cost 4');
SELECT tests.put('ivy_changed', (SELECT ROW(u.password_changed_at) FROM lp.users AS u WHERE u.id = tests.user_id('ivy')));
SELECT tests.put('ivy_hash0', ROW(tests.stored_hash('ivy')));
-- Unchanged cost: a login rewrites nothing.
SELECT is(tests.try_login('ivy', tests.password()), 'ok', 'ivy logs in');
SELECT is(tests.stored_hash('ivy'), tests.get('ivy_hash0', 'f1'), 'at an unchanged cost the stored hash is not rewritten');
SELECT is(tests.audits('auth.rehash', tests.user_id('ivy')), 0::bigint, 'and no auth.rehash is audited');
-- The cost goes up: a wrong password rewrites nothing, the right one re-hashes.
SELECT tests.cfg('auth.bcrypt_cost', '5');
SELECT is(tests.try_login('ivy', 'Wrong-password-1'), 'LP020', 'a wrong password at the new cost: LP020');
SELECT is(tests.hash_cost('ivy'), 4, 'a failed login re-hashes nothing');
SELECT is(tests.audits('auth.rehash', tests.user_id('ivy')), 0::bigint, 'and audits no auth.rehash');
SELECT is(tests.try_login('ivy', tests.password()), 'ok', 'ivy logs in after the cost was raised to 5');
SELECT is(tests.hash_cost('ivy'), 5, 'the login re-hashed her password at the new cost (5)');
SELECT is(tests.stored_hash('ivy'), ext.crypt(tests.password(), tests.stored_hash('ivy')), 'the new hash is of her password');
SELECT is((SELECT u.password_changed_at FROM lp.users AS u WHERE u.id = tests.user_id('ivy')),
          tests.get('ivy_changed', 'f1')::timestamptz, 'a re-hash is no password change (password_changed_at stays)');
-- Audited (auth.rehash): one row, her own, about her account, with the two costs and no secret.
SELECT results_eq($$SELECT actor_id, target_type, target_id, details FROM lp.audit_logs
                     WHERE action = 'auth.rehash' AND target_id = tests.user_id('ivy')::text$$,
                  $$VALUES (tests.user_id('ivy'), 'user'::text, tests.user_id('ivy')::text,
                            '{"from_cost": 4, "to_cost": 5}'::jsonb)$$,
                  'the re-hash is audited once: auth.rehash, actor and target ivy, details from_cost 4, to_cost 5');
SELECT ok((SELECT a.details::text !~ '\$2[abxy]\$' AND strpos(a.details::text, tests.password()) = 0
             FROM lp.audit_logs AS a WHERE a.action = 'auth.rehash' AND a.target_id = tests.user_id('ivy')::text),
          'the auth.rehash row holds neither a hash nor the password');
SELECT tests.put('ivy_hash5', ROW(tests.stored_hash('ivy')));
SELECT is(tests.try_login('ivy', tests.password()), 'ok', 'the password still logs in');
SELECT is(tests.stored_hash('ivy'), tests.get('ivy_hash5', 'f1'), 'and the next login at the same cost leaves the hash alone');
SELECT is(tests.try_login('ivy', 'Wrong-password-2'), 'LP020', 'a wrong password is still refused');
SELECT is(tests.audits('auth.rehash', tests.user_id('ivy')), 1::bigint,
          'neither the login at the same cost nor the wrong password audits another auth.rehash');
-- The cost goes down: re-hashed as well (the setting is the one work factor of the platform).
SELECT tests.create_user('ian');
SELECT is(tests.hash_cost('ian'), 5, 'ian registers while the cost is 5');
SELECT tests.cfg('auth.bcrypt_cost', '4');
SELECT is(tests.try_login('ian@example.com', tests.password()), 'ok', 'ian logs in by e-mail after the cost was lowered to 4');
SELECT is(tests.hash_cost('ian'), 4, 'the login re-hashed his password at cost 4');
SELECT is(tests.try_login('ian', tests.password()), 'ok', 'and his password still logs in');
SELECT is((SELECT array_agg(details ORDER BY id) FROM lp.audit_logs
            WHERE action = 'auth.rehash' AND target_id = tests.user_id('ian')::text),
          ARRAY['{"from_cost": 5, "to_cost": 4}'::jsonb], 'audited once: auth.rehash from_cost 5, to_cost 4');
-- The right password during a lockout opens nothing and re-hashes nothing (ivy's hash is at 5, the cost is 4).
SELECT tests.clear_authentication();
UPDATE lp.users SET locked_until = now() + interval '5 minutes' WHERE id = tests.user_id('ivy');
SELECT is(tests.try_login('ivy', tests.password()), 'LP020', 'locked: the right password is refused');
SELECT is(tests.hash_cost('ivy'), 5, 'and the hash is not rewritten');
SELECT is(tests.audits('auth.rehash', tests.user_id('ivy')), 1::bigint, 'nor is another auth.rehash audited');

-- == 3. Kept locked out by someone else: what the owner keeps ==============================================
SELECT is(tests.try_login('gwen', tests.password(), 'gwen_s1'), 'ok', 'gwen logs in (session s1)');
SELECT is((SELECT count(*) FROM generate_series(1, 5) AS i WHERE tests.try_login('gwen', 'Wrong-' || i) = 'LP020'),
          5::bigint, 'someone with the application login sends auth.max_failed_logins (5) wrong passwords');
SELECT tests.clear_authentication();
SELECT ok((SELECT locked_until > now() FROM lp.users WHERE id = tests.user_id('gwen')), 'gwen is locked out');
SELECT is(tests.try_login('gwen', tests.password()), 'LP020', 'her own login with the right password is refused');
SELECT tests.use_session('gwen_s1');
SELECT is(api.current_user_id(), tests.user_id('gwen'), 'her session from before the lockout still authenticates');
SELECT lives_ok($$SELECT api.update_preferences(p_theme => 'dark')$$, 'and still acts');
SELECT tests.clear_authentication();
UPDATE lp.auth_sessions SET created_at = now() - interval '11 minutes' WHERE id = tests.get('gwen_s1', 'session_id')::uuid;
SELECT tests.use_session('gwen_s1');
SELECT * FROM tests.rejects($$SELECT api.delete_user()$$, 'LP171',
                            'but while locked out she cannot log in afresh, so cannot delete her account herself (LP171)');
-- A password reset ends the lockout (and every session); she logs in with the new password.
SELECT tests.clear_authentication();
UPDATE lp.settings SET value = '0' WHERE key = 'auth.reset_request_interval_seconds';
SELECT tests.authenticate_as(NULL);
SELECT api.request_password_reset('gwen@example.com');
SELECT is(api.reset_password(tests.reset_token('gwen'), 'Brand-new-start-7'), tests.user_id('gwen'), 'gwen resets her password');
SELECT tests.clear_authentication();
SELECT ok((SELECT locked_until IS NULL AND failed_login_count = 0 FROM lp.users WHERE id = tests.user_id('gwen')),
          'the reset cleared the lockout');
SELECT is((SELECT revoke_reason FROM lp.auth_sessions WHERE id = tests.get('gwen_s1', 'session_id')::uuid), 'password_reset',
          'and revoked her sessions (the one an attacker may hold too)');
SELECT is(tests.try_login('gwen', 'Brand-new-start-7', 'gwen_s2'), 'ok', 'she logs in at once with the new password');
SELECT tests.use_session('gwen_s2');
SELECT ok((api.delete_user(p_reason => 'had enough')).deleted_at IS NOT NULL,
          'and through that fresh session may delete her account');

-- == 4. A refused new password tells nothing about the current one =======================================
SELECT tests.clear_authentication();
SELECT tests.authenticate_as('hana');
SELECT throws_ok($$SELECT api.change_password('not-her-password-9', 'short-1')$$, 'LP012', NULL,
                 'a wrong current password with a weak new one: LP012');
SELECT throws_ok($$SELECT api.change_password(tests.password(), 'short-1')$$, 'LP012', NULL,
                 'the right current password with the same weak new one: LP012 alike');
SELECT throws_ok($$SELECT api.change_password('not-her-password-9', 'not-her-password-9')$$, 'LP027', NULL,
                 'a wrong current password given twice: LP027, as the right one would be');
SELECT is((SELECT failed_login_count FROM lp.users WHERE id = tests.user_id('hana')), 0,
          'nothing counted: no current password was checked');
SELECT is((api.change_password('not-her-password-9', 'Strong-enough-new-8')).error_code, 'LP020',
          'control: a wrong current password with an acceptable new one is LP020 in-band');

SELECT * FROM finish();
ROLLBACK;
