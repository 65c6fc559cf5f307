-- api.register_user and api.create_admin: every rule and every rejection path with its SQLSTATE, and after
-- each rejection nothing changed (row counts of users, wallets, preferences and audit_logs). Registration is
-- called the way the application calls it: as livepanty_app, nobody acting.
BEGIN;
SELECT plan(131);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()

-- Helpers of this file.
CREATE FUNCTION tests.counts() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT jsonb_build_object('users', (SELECT count(*) FROM lp.users),
                              'wallets', (SELECT count(*) FROM lp.wallets),
                              'user_preferences', (SELECT count(*) FROM lp.user_preferences),
                              'audit_logs', (SELECT count(*) FROM lp.audit_logs))
$$;
CREATE FUNCTION tests.state() RETURNS text LANGUAGE sql AS $$ SELECT tests.counts()::text $$;  -- for tests.rejects
-- throws_ok plus "nothing changed": two assertions.
CREATE FUNCTION tests.register(p_email text, p_username text, p_password text DEFAULT tests.password(),
                               p_dob date DEFAULT DATE '1990-01-01', p_role text DEFAULT 'viewer')
    RETURNS api.user_account LANGUAGE sql AS $$
    SELECT api.register_user(p_email, p_username, p_password, p_dob, p_role)
$$;

-- == A successful registration =============================================================================
SELECT tests.authenticate_as(NULL);
SELECT lives_ok($$SELECT api.register_user(' Vera@Example.COM ', ' vera ', tests.password(), DATE '1990-05-17',
                                           'viewer', '  Vera V.  ', 'de', '198.51.100.7')$$,
                'a viewer registers (as livepanty_app, nobody acting)');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT email::text, username::text, display_name, role::text, date_of_birth, country_code, deleted_at,
                           failed_login_count, locked_until
                      FROM lp.users WHERE id = tests.user_id('vera')$$,
                  $$VALUES ('Vera@Example.COM', 'vera', 'Vera V.', 'viewer', DATE '1990-05-17', 'DE', NULL::timestamptz, 0, NULL::timestamptz)$$,
                  'the account is stored trimmed, the country code upper-cased, active and unlocked');
SELECT ok((SELECT password_hash ~ '^\$2[abxy]\$04\$' AND password_hash = ext.crypt(tests.password(), password_hash)
             FROM lp.users WHERE id = tests.user_id('vera')),
          'the password is stored as a bcrypt hash at auth.bcrypt_cost (4 in tests), never in clear');
SELECT results_eq($$SELECT language, timezone, theme::text, email_notifications, marketing_emails, content_filter::text
                      FROM lp.user_preferences WHERE user_id = tests.user_id('vera')$$,
                  $$VALUES ('en', 'UTC', 'system', true, false, 'standard')$$,
                  'registration creates the preferences with their defaults');
SELECT results_eq($$SELECT kind, balance, reserved, currency, tokens_per_unit FROM lp.wallets WHERE user_id = tests.user_id('vera')$$,
                  $$VALUES ('user', 0::bigint, 0::bigint, 'USD', 100)$$,
                  'registration creates an empty USD wallet (100 tokens per unit)');
SELECT is_empty($$SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = 'api.user_account'::regclass AND attname = 'password_hash'$$,
                'api.user_account (what registration returns) has no password hash');

SELECT tests.authenticate_as(NULL);
SELECT is((tests.register('pia@example.com', 'pia', p_role => 'performer')).role, 'performer', 'a performer registers');
SELECT is((tests.register('adult@example.com', 'adult', p_dob => (current_date - interval '18 years')::date)).username,
          'adult', 'someone who turns 18 today may register');
SELECT is((tests.register('long.pw@example.com', 'longpw', repeat('Aa1', 24))).username, 'longpw',
          'a password of exactly 72 bytes is accepted');
SELECT is((tests.register('old@example.com', 'oldie', p_dob => DATE '1900-01-02')).username, 'oldie',
          'a date of birth on 1900-01-02 (the earliest) is accepted');

-- == E-mail (LP010, LP015) =================================================================================
SELECT * FROM tests.rejects($$SELECT tests.register('', 'newbie')$$, 'LP010', 'register: empty e-mail is LP010');
SELECT * FROM tests.rejects($$SELECT tests.register('   ', 'newbie')$$, 'LP010', 'register: blank e-mail is LP010');
SELECT * FROM tests.rejects($$SELECT tests.register(NULL, 'newbie')$$, 'LP010', 'register: NULL e-mail is LP010');
SELECT * FROM tests.rejects($$SELECT tests.register('not-an-email', 'newbie')$$, 'LP010', 'register: an e-mail without @ is LP010');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@localhost', 'newbie')$$, 'LP010', 'register: an e-mail without a TLD is LP010');
SELECT * FROM tests.rejects($$SELECT tests.register('new bie@example.com', 'newbie')$$, 'LP010', 'register: an e-mail with a space is LP010');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@@example.com', 'newbie')$$, 'LP010', 'register: an e-mail with two @ is LP010');
SELECT * FROM tests.rejects($$SELECT tests.register(repeat('a', 65) || '@example.com', 'newbie')$$, 'LP010',
                            'register: a local part over 64 characters is LP010');
SELECT * FROM tests.rejects($$SELECT tests.register(repeat('a', 64) || '@' || repeat('b', 63) || '.' || repeat('c', 63) || '.'
                                                    || repeat('d', 63) || '.com', 'newbie')$$, 'LP010',
                            'register: an e-mail over 254 characters is LP010');
SELECT * FROM tests.rejects($$SELECT tests.register('VERA@example.com', 'newbie')$$, 'LP015',
                            'register: an e-mail taken in another case is LP015');
SELECT * FROM tests.rejects($$SELECT tests.register('  vera@EXAMPLE.com ', 'newbie')$$, 'LP015',
                            'register: a taken e-mail with spaces around it is LP015');

-- == Username (LP011, LP016) ===============================================================================
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', '')$$, 'LP011', 'register: empty username is LP011');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', NULL)$$, 'LP011', 'register: NULL username is LP011');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'ab')$$, 'LP011', 'register: a 2-character username is LP011');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'a' || repeat('b', 30))$$, 'LP011', 'register: a 31-character username is LP011');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', '1newbie')$$, 'LP011', 'register: a username starting with a digit is LP011');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', '_newbie')$$, 'LP011', 'register: a username starting with _ is LP011');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'new bie')$$, 'LP011', 'register: a username with a space is LP011');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'new-bie')$$, 'LP011', 'register: a username with a dash is LP011');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'new@bie')$$, 'LP011', 'register: a username with @ is LP011');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'nëwbie')$$, 'LP011', 'register: a non-ASCII username is LP011');
SELECT tests.rejects(format('SELECT tests.register(%L, %L)', 'newbie@example.com', r), 'LP011',
                            format('register: reserved username %s is LP011', r))
  FROM unnest(ARRAY['Admin', 'administrator', 'ROOT', 'support', 'system', 'moderator', 'LivePanty', 'staff']) AS r;
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'VERA')$$, 'LP016', 'register: a username taken in another case is LP016');
SELECT is((tests.register('a3c@example.com', 'a3c')).username, 'a3c', 'a 3-character username is accepted');
SELECT is((tests.register('a30@example.com', 'a' || repeat('_', 28) || '9')).username, 'a' || repeat('_', 28) || '9',
          'a 30-character username of a letter, underscores and a digit is accepted');

-- == Password (LP012) ======================================================================================
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', NULL)$$, 'LP012', 'register: NULL password is LP012');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', '')$$, 'LP012', 'register: empty password is LP012');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', 'Sh0rt-pw!')$$, 'LP012',
                            'register: a password of 9 characters (under auth.password_min_length 10) is LP012');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', repeat('Aa1', 24) || 'x')$$, 'LP012',
                            'register: a password of 73 bytes (over bcrypt''s 72) is LP012');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', repeat('é', 36) || '1')$$, 'LP012',
                            'register: a password of 37 characters but 73 UTF-8 bytes is LP012');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', 'onlyletterswords')$$, 'LP012',
                            'register: a letters-only password is LP012');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', '1234567890-+')$$, 'LP012',
                            'register: a password without letters is LP012');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', 'zzzzzzzzzzzz')$$, 'LP012',
                            'register: one repeated letter is LP012');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', '777777777777')$$, 'LP012',
                            'register: one repeated digit is LP012');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', 'my-NEWBIE-2024')$$, 'LP012',
                            'register: a password containing the username (any case) is LP012');
SELECT * FROM tests.rejects($$SELECT tests.register('carol.smith@example.com', 'newbie', 'Carol.Smith-1999')$$, 'LP012',
                            'register: a password containing the e-mail''s local part is LP012');

-- == Date of birth (LP013, LP014) ==========================================================================
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', p_dob => (current_date - interval '18 years')::date + 1)$$,
                            'LP013', 'register: someone who turns 18 tomorrow is LP013');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', p_dob => (current_date - interval '10 years')::date)$$,
                            'LP013', 'register: a 10-year-old is LP013');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', p_dob => current_date + 1)$$,
                            'LP014', 'register: a date of birth in the future is LP014');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', p_dob => NULL)$$,
                            'LP014', 'register: a NULL date of birth is LP014');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', p_dob => DATE '1899-12-31')$$,
                            'LP014', 'register: a date of birth before 1900 is LP014');
-- 1900-01-01 is what an erasure writes over a date of birth (and a shard over a stub's): reporting reads it as
-- none, so a real user cannot have it.
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', p_dob => DATE '1900-01-01')$$,
                            'LP014', 'register: 1900-01-01 (the erasure''s marker) is LP014');

-- == Role (LP017) and other arguments (LP018) ==============================================================
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', p_role => 'moderator')$$, 'LP017',
                            'register: role moderator cannot be chosen (LP017)');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', p_role => 'admin')$$, 'LP017',
                            'register: role admin cannot be chosen (LP017)');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', p_role => 'god')$$, 'LP017',
                            'register: an unknown role is LP017');
SELECT * FROM tests.rejects($$SELECT tests.register('newbie@example.com', 'newbie', p_role => NULL)$$, 'LP017',
                            'register: a NULL role is LP017');
SELECT * FROM tests.rejects($$SELECT api.register_user('newbie@example.com', 'newbie', tests.password(), DATE '1990-01-01', 'viewer', NULL, 'USA')$$,
                            'LP018', 'register: a three-letter country code is LP018');
SELECT * FROM tests.rejects($$SELECT api.register_user('newbie@example.com', 'newbie', tests.password(), DATE '1990-01-01', 'viewer', repeat('x', 65))$$,
                            'LP018', 'register: a display name over 64 characters is LP018');

-- == A soft-deleted user's e-mail and username become reusable ============================================
SELECT tests.clear_authentication();
SELECT tests.create_user('gone');
SELECT tests.login_as('gone');  -- a user's own deletion wants a recent login
SELECT lives_ok($$SELECT api.delete_user()$$, 'a user deletes their account');
SELECT tests.authenticate_as(NULL);
SELECT lives_ok($$SELECT tests.register('GONE@example.com', 'Gone')$$, 'the deleted user''s e-mail and username can be registered again');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT count(*), count(deleted_at) FROM lp.users WHERE lower(username::text) = 'gone'$$, $$VALUES (2::bigint, 1::bigint)$$,
                  'both accounts exist: the deleted one (history) and the new one');

-- == api.create_admin ======================================================================================
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq($$SELECT username, role::text FROM api.create_admin('root1@example.com', 'root1', tests.password(), DATE '1980-01-01')$$,
                  $$VALUES ('root1', 'admin')$$, 'api.create_admin (service role) creates an admin');
SELECT * FROM tests.rejects($$SELECT api.create_admin('root2@example.com', 'root2', 'weakpassword', DATE '1980-01-01')$$, 'LP012',
                            'api.create_admin applies the password rules (LP012)');
SELECT * FROM tests.rejects($$SELECT api.create_admin('root2@example.com', 'root2', tests.password(), (current_date - interval '17 years')::date)$$,
                            'LP013', 'api.create_admin applies the age rule (LP013)');
SELECT * FROM tests.rejects($$SELECT api.create_admin('ROOT1@example.com', 'root2', tests.password(), DATE '1980-01-01')$$, 'LP015',
                            'api.create_admin rejects a taken e-mail (LP015)');
SELECT tests.authenticate_as(NULL);
SELECT * FROM tests.rejects($$SELECT api.create_admin('root2@example.com', 'root2', tests.password(), DATE '1980-01-01')$$, '42501',
                            'api.create_admin is not executable by livepanty_app (42501)');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT count(*) FROM lp.wallets AS w JOIN lp.user_preferences AS p USING (user_id)
                     WHERE w.user_id = tests.user_id('root1')$$,
                  $$VALUES (1::bigint)$$, 'an admin gets preferences and a wallet too');

SELECT * FROM finish();
ROLLBACK;
