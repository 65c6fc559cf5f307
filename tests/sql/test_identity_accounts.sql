-- Accounts: api.get_user, api.find_user, api.list_users, api.public_profile, api.get_preferences /
-- api.update_preferences, api.set_user_role and api.delete_user, with every rejection and its SQLSTATE.
-- Calls run as livepanty_app with the acting user set for the transaction (tests.authenticate_as).
BEGIN;
SELECT plan(84);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()

-- Helpers of this file.
CREATE FUNCTION tests.role_of(p_username text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT u.role FROM lp.users AS u WHERE u.id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.audit_count(p_action text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.audit_logs AS a WHERE a.action = p_action
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('victor');
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('gina');
    PERFORM tests.create_user('gone');
    UPDATE lp.users SET deleted_at = now(), bio = 'gone for good' WHERE id = tests.user_id('gone');
    UPDATE lp.users SET bio = 'I stream', avatar_url = 'https://cdn.example.com/pia.png', display_name = 'Pia P.'
     WHERE id = tests.user_id('pia');
END
$$;

-- == api.get_user ==========================================================================================
SELECT tests.authenticate_as('vera');
SELECT results_eq($$SELECT id, email, username, role::text FROM api.get_user()$$,
                  format('VALUES (%L::uuid, ''vera@example.com'', ''vera'', ''viewer'')', tests.user_id('vera')),
                  'get_user(): the acting user''s own account');
SELECT results_eq(format('SELECT username FROM api.get_user(%L)', tests.user_id('vera')), $$VALUES ('vera')$$,
                  'get_user(own id) works too');
SELECT throws_ok(format('SELECT api.get_user(%L)', tests.user_id('victor')), 'LP003', NULL, 'get_user: a viewer asking for another user is LP003');
SELECT tests.authenticate_as('mona');
SELECT results_eq(format('SELECT username FROM api.get_user(%L)', tests.user_id('victor')), $$VALUES ('victor')$$,
                  'get_user: a moderator reads any account');
SELECT tests.authenticate_as('adam');
SELECT results_eq(format('SELECT username, deleted_at IS NOT NULL FROM api.get_user(%L)', tests.user_id('gone')), $$VALUES ('gone', true)$$,
                  'get_user: an admin reads a deleted account too (with deleted_at)');
SELECT throws_ok(format('SELECT api.get_user(%L)', gen_random_uuid()), 'LP003', NULL, 'get_user: an unknown id is LP003');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT api.get_user()$$, 'LP001', NULL, 'get_user: nobody acting is LP001');
SELECT tests.authenticate_as('gone');
SELECT throws_ok($$SELECT api.get_user()$$, 'LP001', NULL, 'get_user: a deleted acting user is LP001');
SELECT is(lp.current_user_role(), NULL, 'lp.current_user_role() is NULL for a deleted acting user');

-- == api.find_user =========================================================================================
SELECT tests.authenticate_as('mona');
SELECT results_eq($$SELECT username FROM api.find_user('VICTOR@example.com')$$, $$VALUES ('victor')$$, 'find_user by e-mail, any case');
SELECT results_eq($$SELECT username FROM api.find_user(' Victor ')$$, $$VALUES ('victor')$$, 'find_user by username, any case, trimmed');
SELECT throws_ok($$SELECT api.find_user('gone')$$, 'LP003', NULL, 'find_user: a deleted user is not found (LP003)');
SELECT throws_ok($$SELECT api.find_user('nobody')$$, 'LP003', NULL, 'find_user: an unknown login is LP003');
SELECT throws_ok($$SELECT api.find_user('')$$, 'LP018', NULL, 'find_user: an empty login is LP018');
SELECT throws_ok($$SELECT api.find_user(repeat('x', 255))$$, 'LP018', NULL, 'find_user: a login over 254 characters is LP018');
SELECT tests.authenticate_as('pia');
SELECT throws_ok($$SELECT api.find_user('victor')$$, 'LP002', NULL, 'find_user: a performer is LP002');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT api.find_user('victor')$$, 'LP001', NULL, 'find_user: nobody acting is LP001');

-- == api.list_users ========================================================================================
SELECT tests.authenticate_as('mona');
SELECT set_eq($$SELECT username FROM api.list_users()$$, ARRAY['vera', 'victor', 'pia', 'mona', 'adam', 'gina'],
              'list_users: every active user');
SELECT set_eq($$SELECT username FROM api.list_users(p_include_deleted => true)$$, ARRAY['vera', 'victor', 'pia', 'mona', 'adam', 'gina', 'gone'],
              'list_users(p_include_deleted): deleted users too');
SELECT set_eq($$SELECT username FROM api.list_users('performer')$$, ARRAY['pia'], 'list_users(role): one role');
SELECT results_eq($$SELECT id FROM api.list_users()$$, $$SELECT id FROM lp.users WHERE deleted_at IS NULL ORDER BY created_at, id$$,
                  'list_users: in registration order (created_at, id)');
SELECT results_eq($$SELECT id FROM api.list_users(p_limit => 2)
                    UNION ALL SELECT id FROM api.list_users(p_after => (SELECT max(id::text)::uuid FROM (SELECT id FROM api.list_users(p_limit => 2)) AS p), p_limit => 1000)$$,
                  $$SELECT id FROM api.list_users()$$,
                  'list_users: keyset pages (p_after = last id of the previous page) cover every user exactly once');
SELECT is((SELECT count(*) FROM api.list_users(p_limit => 2)), 2::bigint, 'list_users: p_limit limits the page');
SELECT throws_ok($$SELECT * FROM api.list_users('god')$$, 'LP017', NULL, 'list_users: an unknown role is LP017');
SELECT throws_ok($$SELECT * FROM api.list_users(p_limit => 0)$$, 'LP018', NULL, 'list_users: limit 0 is LP018');
SELECT throws_ok($$SELECT * FROM api.list_users(p_limit => 1001)$$, 'LP018', NULL, 'list_users: limit 1001 is LP018');
SELECT throws_ok($$SELECT * FROM api.list_users(p_limit => NULL)$$, 'LP018', NULL, 'list_users: a NULL limit is LP018');
SELECT throws_ok(format('SELECT * FROM api.list_users(p_after => %L)', gen_random_uuid()), 'LP018', NULL,
                 'list_users: an unknown cursor is LP018');
SELECT tests.authenticate_as('vera');
SELECT throws_ok($$SELECT * FROM api.list_users()$$, 'LP002', NULL, 'list_users: a viewer is LP002');

-- == api.public_profile ====================================================================================
SELECT tests.authenticate_as('vera');
SELECT results_eq(format('SELECT username, display_name, role::text, avatar_url, bio FROM api.public_profile(%L)', tests.user_id('pia')),
                  $$VALUES ('pia', 'Pia P.', 'performer', 'https://cdn.example.com/pia.png', 'I stream')$$,
                  'public_profile: any signed-in user sees another''s handle, display name, role::text, avatar and bio');
SELECT is_empty(format('SELECT 1 FROM api.public_profile(%L)', tests.user_id('gone')), 'public_profile: nothing for a deleted user');
SELECT is_empty($$SELECT 1 FROM pg_catalog.pg_proc AS p, unnest(p.proargnames) AS a
                   WHERE p.oid = 'api.public_profile(uuid)'::regprocedure
                     AND a IN ('email', 'date_of_birth', 'password_hash', 'country_code', 'last_login_at')$$,
                'public_profile returns nothing private (no e-mail, birth date, country, hash, last login)');
SELECT tests.authenticate_as(NULL);
SELECT is_empty(format('SELECT 1 FROM api.public_profile(%L)', tests.user_id('pia')), 'public_profile: nothing when nobody acts');

-- == Preferences ===========================================================================================
SELECT tests.authenticate_as('vera');
SELECT results_eq($$SELECT user_id, language, timezone, theme::text, email_notifications, push_notifications, tip_notifications,
                           marketing_emails, show_online_status, content_filter::text FROM api.get_preferences()$$,
                  format('VALUES (%L::uuid, ''en'', ''UTC'', ''system'', true, true, true, false, true, ''standard'')', tests.user_id('vera')),
                  'get_preferences: the acting user''s preferences, defaults after registration');
SELECT results_eq($$SELECT language, timezone, theme::text, marketing_emails, content_filter::text
                      FROM api.update_preferences(p_language => 'pt-BR', p_timezone => 'Europe/Berlin', p_theme => 'dark',
                                                  p_marketing_emails => true, p_content_filter => 'strict')$$,
                  $$VALUES ('pt-BR', 'Europe/Berlin', 'dark', true, 'strict')$$,
                  'update_preferences changes the fields given and returns the row');
SELECT results_eq($$SELECT language, timezone, theme::text, email_notifications, marketing_emails, content_filter::text
                      FROM api.update_preferences(p_email_notifications => false)$$,
                  $$VALUES ('pt-BR', 'Europe/Berlin', 'dark', false, true, 'strict')$$,
                  'update_preferences: NULL arguments leave fields unchanged');
SELECT results_eq($$SELECT language, theme::text FROM api.get_preferences()$$, $$VALUES ('pt-BR', 'dark')$$, 'get_preferences sees the change');
SELECT throws_ok($$SELECT api.update_preferences(p_language => 'english')$$, 'LP018', NULL, 'update_preferences: language english is LP018');
SELECT throws_ok($$SELECT api.update_preferences(p_language => 'EN')$$, 'LP018', NULL, 'update_preferences: language EN is LP018');
SELECT throws_ok($$SELECT api.update_preferences(p_language => 'en-us')$$, 'LP018', NULL, 'update_preferences: language en-us is LP018');
SELECT throws_ok($$SELECT api.update_preferences(p_timezone => 'Mars/Olympus_Mons')$$, 'LP018', NULL, 'update_preferences: an unknown time zone is LP018');
SELECT throws_ok($$SELECT api.update_preferences(p_timezone => '')$$, 'LP018', NULL, 'update_preferences: an empty time zone is LP018');
SELECT throws_ok($$SELECT api.update_preferences(p_theme => 'neon')$$, 'LP018', NULL, 'update_preferences: theme neon is LP018');
SELECT throws_ok($$SELECT api.update_preferences(p_content_filter => 'none')$$, 'LP018', NULL, 'update_preferences: content filter none is LP018');
SELECT results_eq($$SELECT language, timezone, theme::text, content_filter::text FROM api.get_preferences()$$,
                  $$VALUES ('pt-BR', 'Europe/Berlin', 'dark', 'strict')$$, 'rejected updates changed nothing');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT language, theme::text FROM lp.user_preferences WHERE user_id = tests.user_id('victor')$$,
                  $$VALUES ('en', 'system')$$, 'another user''s preferences are untouched');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT api.get_preferences()$$, 'LP001', NULL, 'get_preferences: nobody acting is LP001');
SELECT throws_ok($$SELECT api.update_preferences(p_theme => 'dark')$$, 'LP001', NULL, 'update_preferences: nobody acting is LP001');

-- == api.set_user_role =====================================================================================
SELECT tests.authenticate_as('vera');
SELECT throws_ok(format('SELECT api.set_user_role(%L, ''admin'')', tests.user_id('vera')), 'LP002', NULL,
                 'set_user_role: a viewer (even for themselves) is LP002');
SELECT tests.authenticate_as('mona');
SELECT throws_ok(format('SELECT api.set_user_role(%L, ''moderator'')', tests.user_id('victor')), 'LP002', NULL,
                 'set_user_role: a moderator is LP002');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.set_user_role(%L, ''moderator'')', tests.user_id('victor')), 'LP001', NULL,
                 'set_user_role: nobody acting is LP001');
SELECT tests.authenticate_as('adam');
SELECT throws_ok(format('SELECT api.set_user_role(%L, ''superuser'')', tests.user_id('victor')), 'LP017', NULL, 'set_user_role: an unknown role is LP017');
SELECT throws_ok(format('SELECT api.set_user_role(%L, NULL)', tests.user_id('victor')), 'LP017', NULL, 'set_user_role: a NULL role is LP017');
SELECT throws_ok(format('SELECT api.set_user_role(%L, ''moderator'')', gen_random_uuid()), 'LP003', NULL, 'set_user_role: an unknown user is LP003');
SELECT throws_ok(format('SELECT api.set_user_role(%L, ''moderator'')', tests.user_id('gone')), 'LP003', NULL, 'set_user_role: a deleted user is LP003');
SELECT is(tests.role_of('victor'), 'viewer', 'rejected role changes changed nothing');
SELECT results_eq(format('SELECT username, role::text FROM api.set_user_role(%L, ''moderator'')', tests.user_id('victor')),
                  $$VALUES ('victor', 'moderator')$$, 'set_user_role: an admin promotes a viewer to moderator');
SELECT tests.authenticate_as('victor');
SELECT results_eq($$SELECT username FROM api.find_user('vera')$$, $$VALUES ('vera')$$, 'the new moderator has moderator powers at once');
SELECT tests.authenticate_as('adam');
SELECT is((SELECT tests.audit_count('user.role_change')), 1::bigint, 'one role change, one audit row');
SELECT results_eq(format('SELECT role::text FROM api.set_user_role(%L, ''moderator'')', tests.user_id('victor')),
                  $$VALUES ('moderator')$$, 'set_user_role to the current role is a no-op');
SELECT is((SELECT tests.audit_count('user.role_change')), 1::bigint, 'and writes no audit row');
SELECT throws_ok(format('SELECT api.set_user_role(%L, ''viewer'')', tests.user_id('adam')), 'LP030', NULL,
                 'set_user_role: the only admin cannot demote themselves (LP030)');
SELECT is(tests.role_of('adam'), 'admin', 'the last admin is still admin');
SELECT lives_ok(format('SELECT api.set_user_role(%L, ''admin'')', tests.user_id('gina')), 'with a second admin ...');
SELECT lives_ok(format('SELECT api.set_user_role(%L, ''viewer'')', tests.user_id('adam')), '... an admin may step down');
SELECT tests.authenticate_as('gina');
SELECT throws_ok(format('SELECT api.set_user_role(%L, ''performer'')', tests.user_id('gina')), 'LP030', NULL,
                 'set_user_role: now gina is the last admin (LP030)');
SELECT lives_ok(format('SELECT api.set_user_role(%L, ''admin'')', tests.user_id('adam')), 'gina makes adam admin again');

-- == api.delete_user =======================================================================================
-- vera has money history, a session and a pending reset token when she deletes herself
SELECT tests.clear_authentication();
DO $$
DECLARE
    v_tx uuid := gen_random_uuid();
BEGIN
    INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after, entry_kind, reference_type, reference_id)
    SELECT v_tx, w.id, -500, 0, -500, 'purchase', 'payment', v_tx FROM lp.wallets AS w WHERE w.system_code = 'issuance';
    INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after, entry_kind, reference_type, reference_id)
    SELECT v_tx, w.id, 500, 0, 500, 'purchase', 'payment', v_tx FROM lp.wallets AS w WHERE w.user_id = tests.user_id('vera');
    UPDATE lp.wallets SET balance = balance - 500 WHERE system_code = 'issuance';
    UPDATE lp.wallets SET balance = balance + 500 WHERE user_id = tests.user_id('vera');
END
$$;
SELECT api.request_password_reset('vera@example.com');
CREATE TABLE tests.vera AS
SELECT l.token, tests.reset_token('vera') AS reset_token FROM api.login('vera', tests.password()) AS l;
GRANT SELECT ON tests.vera TO PUBLIC;

-- Through her session, opened by the login above (a user's own deletion wants a recent login).
SELECT tests.authenticate_as(NULL);
SELECT api.authenticate((SELECT token FROM tests.vera)) IS NOT NULL AS authenticated;
SELECT throws_ok(format('SELECT api.delete_user(%L)', tests.user_id('victor')), 'LP002', NULL, 'delete_user: a viewer deleting another user is LP002');
SELECT throws_ok($$SELECT api.delete_user(p_reason => repeat('x', 1001))$$, 'LP018', NULL, 'delete_user: a reason over 1000 characters is LP018');
SELECT results_eq($$SELECT username, deleted_at FROM api.delete_user(p_reason => 'leaving')$$, $$VALUES ('vera', now())$$,
                  'delete_user(): a user deletes their own account (soft delete)');
SELECT throws_ok($$SELECT api.get_user()$$, 'LP001', NULL, 'the deleted user can no longer act (LP001)');
SELECT tests.authenticate_as(NULL);
SELECT is((api.login('vera', tests.password())).error_code, 'LP020', 'the deleted user cannot log in (LP020)');
SELECT throws_ok(format('SELECT api.authenticate(%L)', (SELECT token FROM tests.vera)), 'LP023', NULL,
                 'the deleted user''s session token no longer authenticates (LP023)');
SELECT throws_ok(format('SELECT api.reset_password(%L, %L)', (SELECT reset_token FROM tests.vera), 'Back-again-2024'), 'LP025', NULL,
                 'the deleted user''s pending reset token is revoked (LP025)');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT (SELECT count(*) FROM lp.auth_sessions WHERE user_id = tests.user_id('vera') AND revoke_reason = 'user_deleted'),
                           (SELECT balance FROM lp.wallets WHERE user_id = tests.user_id('vera')),
                           (SELECT count(*) FROM lp.ledger AS l JOIN lp.wallets AS w ON w.id = l.wallet_id WHERE w.user_id = tests.user_id('vera')),
                           (SELECT count(*) FROM lp.audit_logs WHERE target_id = tests.user_id('vera')::text),
                           (SELECT count(*) FROM lp.user_preferences WHERE user_id = tests.user_id('vera'))$$,
                  $$VALUES (1::bigint, 500::bigint, 1::bigint, 3::bigint, 1::bigint)$$,
                  'sessions are revoked (user_deleted); wallet, ledger, audit history and preferences remain');

SELECT tests.authenticate_as('mona');
SELECT throws_ok(format('SELECT api.delete_user(%L)', tests.user_id('pia')), 'LP002', NULL, 'delete_user: a moderator deleting another user is LP002');
SELECT tests.authenticate_as('adam');
SELECT results_eq(format('SELECT username, deleted_at IS NOT NULL FROM api.delete_user(%L, ''terms violation'')', tests.user_id('pia')),
                  $$VALUES ('pia', true)$$, 'delete_user: an admin deletes another user');
SELECT throws_ok(format('SELECT api.delete_user(%L)', tests.user_id('pia')), 'LP003', NULL, 'delete_user: an already deleted user is LP003');
SELECT throws_ok(format('SELECT api.delete_user(%L)', gen_random_uuid()), 'LP003', NULL, 'delete_user: an unknown user is LP003');
SELECT lives_ok(format('SELECT api.delete_user(%L)', tests.user_id('gina')), 'delete_user: an admin deletes the other admin');
SELECT throws_ok($$SELECT api.delete_user()$$, 'LP171', NULL,
                 'delete_user: the last admin deleting themselves without a recent login is LP171 (checked first)');
SELECT tests.login_as('adam');
SELECT throws_ok($$SELECT api.delete_user()$$, 'LP030', NULL, 'delete_user: the last admin cannot delete themselves (LP030), even freshly logged in');
SELECT tests.clear_authentication();
SELECT is((SELECT deleted_at FROM lp.users WHERE id = tests.user_id('adam')), NULL, 'the last admin is still active');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT api.delete_user()$$, 'LP001', NULL, 'delete_user: nobody acting is LP001');

SELECT tests.clear_authentication();
SELECT * FROM finish();
ROLLBACK;
