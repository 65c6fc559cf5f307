-- Moderation and configuration: api.sanction_user / api.revoke_sanction (who may sanction whom, every
-- rejection with its SQLSTATE, effect on sessions and login), the semantics of lp.active_sanction and
-- lp.assert_not_sanctioned (expired, future and revoked sanctions and warnings do not block), and
-- api.set_setting / api.list_settings (admin only, LP091, LP092, the new values take effect).
BEGIN;
SELECT plan(103);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()

-- Helpers of this file.
CREATE FUNCTION tests.sanction_count() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.user_sanctions
$$;
CREATE FUNCTION tests.state() RETURNS text LANGUAGE sql AS $$ SELECT tests.sanction_count()::text $$;  -- for tests.rejects
CREATE FUNCTION tests.live_sessions(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.auth_sessions AS s
     WHERE s.user_id = tests.user_id(p_username) AND s.revoked_at IS NULL AND s.expires_at > now()
$$;
-- throws_ok plus "no sanction was written": two assertions.
-- A sanction inserted directly (superuser), for the lp.active_sanction semantics.
CREATE FUNCTION tests.sanction(p_username text, p_type text, p_starts interval, p_ends interval, p_revoked boolean DEFAULT false)
    RETURNS uuid LANGUAGE sql AS $$
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, starts_at, ends_at, revoked_at, revoke_reason)
    VALUES (tests.user_id(p_username), p_type::lp.sanction_type, 'test', now() + p_starts, now() + p_ends,
            CASE WHEN p_revoked THEN now() END, CASE WHEN p_revoked THEN 'lifted' END)
    RETURNING id
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('bert');
    PERFORM tests.create_user('gone');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('max', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('sue');
    UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('gone');
    INSERT INTO lp.reports (id, reporter_id, reported_user_id, reason)
    VALUES ('00000000-0000-0000-0000-0000000000a1', tests.user_id('vera'), tests.user_id('bert'), 'harassment');
    PERFORM api.login('pia', tests.password());
    PERFORM api.login('pia', tests.password());
    PERFORM api.login('bert', tests.password());
    PERFORM api.login('vera', tests.password());
END
$$;

-- == api.sanction_user =====================================================================================
SELECT tests.authenticate_as('mona');
SELECT results_eq(format('SELECT user_id, sanction_type::text, reason, issued_by, starts_at, ends_at, revoked_at, report_id
                            FROM api.sanction_user(%L, ''warning'', '' rude in chat '', NULL, %L)',
                         tests.user_id('vera'), '00000000-0000-0000-0000-0000000000a1'),
                  format('VALUES (%L::uuid, ''warning'', ''rude in chat'', %L::uuid, now(), NULL::timestamptz, NULL::timestamptz, %L::uuid)',
                         tests.user_id('vera'), tests.user_id('mona'), '00000000-0000-0000-0000-0000000000a1'),
                  'a moderator warns a viewer (reason trimmed, linked to a report)');
SELECT is(tests.live_sessions('vera'), 1::bigint, 'a warning leaves the user''s sessions alone');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''suspension'', ''spam'')', tests.user_id('pia')), 'LP018',
                            'sanction_user: a suspension without an end is LP018');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''suspension'', ''spam'', now() - interval ''1 hour'')', tests.user_id('pia')), 'LP018',
                            'sanction_user: an end in the past is LP018');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''ban'', ''spam'', now())', tests.user_id('pia')), 'LP018',
                            'sanction_user: an end of now is LP018');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''shadowban'', ''spam'')', tests.user_id('pia')), 'LP018',
                            'sanction_user: an unknown type is LP018');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, NULL, ''spam'')', tests.user_id('pia')), 'LP018',
                            'sanction_user: a NULL type is LP018');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''warning'', ''  '')', tests.user_id('pia')), 'LP018',
                            'sanction_user: a blank reason is LP018');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''warning'', NULL)', tests.user_id('pia')), 'LP018',
                            'sanction_user: a NULL reason is LP018');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''warning'', repeat(''x'', 1001))', tests.user_id('pia')), 'LP018',
                            'sanction_user: a reason over 1000 characters is LP018');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''warning'', ''self'')', tests.user_id('mona')), 'LP002',
                            'sanction_user: a moderator sanctioning themselves is LP002');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''warning'', ''peer'')', tests.user_id('max')), 'LP002',
                            'sanction_user: a moderator sanctioning another moderator is LP002');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''ban'', ''coup'')', tests.user_id('adam')), 'LP002',
                            'sanction_user: a moderator sanctioning an admin is LP002');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''warning'', ''who'')', gen_random_uuid()), 'LP003',
                            'sanction_user: an unknown user is LP003');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''warning'', ''who'')', tests.user_id('gone')), 'LP003',
                            'sanction_user: a deleted user is LP003');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''warning'', ''x'', NULL, %L)', tests.user_id('pia'), gen_random_uuid()), 'LP003',
                            'sanction_user: an unknown report is LP003');
SELECT tests.authenticate_as('vera');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''warning'', ''revenge'')', tests.user_id('pia')), 'LP002',
                            'sanction_user: a viewer is LP002');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''warning'', ''revenge'')', tests.user_id('vera')), 'LP002',
                            'sanction_user: a performer is LP002');
SELECT tests.authenticate_as(NULL);
SELECT * FROM tests.rejects(format('SELECT api.sanction_user(%L, ''warning'', ''anon'')', tests.user_id('pia')), 'LP001',
                            'sanction_user: nobody acting is LP001');

-- a suspension ends the user's sessions and blocks login
SELECT tests.authenticate_as('mona');
SELECT results_eq(format('SELECT sanction_type::text, ends_at FROM api.sanction_user(%L, ''suspension'', ''spam'', now() + interval ''3 days'')', tests.user_id('pia')),
                  $$VALUES ('suspension', now() + interval '3 days')$$, 'a moderator suspends a performer for three days');
SELECT is(tests.live_sessions('pia'), 0::bigint, 'the suspension revoked every session of the user');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.auth_sessions WHERE user_id = tests.user_id('pia') AND revoke_reason = 'sanction'), 2::bigint,
          'with reason sanction');
SELECT tests.authenticate_as(NULL);
SELECT is((api.login('pia', tests.password())).error_code, 'LP022', 'the suspended user cannot log in (LP022)');
SELECT tests.authenticate_as('mona');
SELECT results_eq(format('SELECT sanction_type::text, ends_at FROM api.sanction_user(%L, ''ban'', ''fraud'')', tests.user_id('bert')),
                  $$VALUES ('ban', NULL::timestamptz)$$, 'a moderator bans a viewer permanently');
SELECT is(tests.live_sessions('bert'), 0::bigint, 'the ban revoked the user''s sessions');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format('SELECT api.sanction_user(%L, ''suspension'', ''abuse of power'', now() + interval ''1 day'')', tests.user_id('max')),
                'an admin may sanction a moderator');
SELECT lives_ok(format('SELECT api.sanction_user(%L, ''warning'', ''careful'')', tests.user_id('ada')), 'an admin may sanction another admin');
SELECT tests.clear_authentication();
SELECT is(tests.sanction_count(), 5::bigint, 'five sanctions were issued, no more');

-- == api.revoke_sanction ===================================================================================
CREATE TABLE tests.sanctions AS
SELECT u.username::text AS username, s.id, s.sanction_type
  FROM lp.user_sanctions AS s JOIN lp.users AS u ON u.id = s.user_id;
GRANT SELECT ON tests.sanctions TO PUBLIC;
CREATE FUNCTION tests.sanction_id(p_username text) RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT id FROM tests.sanctions WHERE username = p_username
$$;

SELECT tests.authenticate_as('vera');
SELECT throws_ok(format('SELECT api.revoke_sanction(%L, ''please'')', tests.sanction_id('vera')), 'LP002', NULL,
                 'revoke_sanction: a viewer (even for their own sanction) is LP002');
SELECT tests.authenticate_as('max');
SELECT throws_ok(format('SELECT api.revoke_sanction(%L, ''mine'')', tests.sanction_id('max')), 'LP002', NULL,
                 'revoke_sanction: a moderator lifting their own sanction is LP002');
SELECT tests.authenticate_as('mona');
SELECT throws_ok(format('SELECT api.revoke_sanction(%L, ''colleague'')', tests.sanction_id('max')), 'LP002', NULL,
                 'revoke_sanction: a moderator lifting a sanction on staff is LP002');
SELECT throws_ok(format('SELECT api.revoke_sanction(%L, '' '')', tests.sanction_id('pia')), 'LP018', NULL,
                 'revoke_sanction: a blank reason is LP018');
SELECT throws_ok(format('SELECT api.revoke_sanction(%L, ''why'')', gen_random_uuid()), 'LP003', NULL,
                 'revoke_sanction: an unknown sanction is LP003');
SELECT results_eq(format('SELECT revoked_at, revoked_by, revoke_reason FROM api.revoke_sanction(%L, ''appeal accepted'')', tests.sanction_id('pia')),
                  format('VALUES (now(), %L::uuid, ''appeal accepted'')', tests.user_id('mona')),
                  'a moderator lifts a suspension early, with a reason');
SELECT throws_ok(format('SELECT api.revoke_sanction(%L, ''again'')', tests.sanction_id('pia')), 'LP004', NULL,
                 'revoke_sanction: lifting it twice is LP004');
SELECT tests.authenticate_as(NULL);
SELECT is((api.login('pia', tests.password())).success, true, 'once the suspension is lifted the user logs in again');
SELECT tests.authenticate_as('ada');
SELECT throws_ok(format('SELECT api.revoke_sanction(%L, ''mine'')', tests.sanction_id('ada')), 'LP002', NULL,
                 'revoke_sanction: an admin lifting their own sanction is LP002');
SELECT lives_ok(format('SELECT api.revoke_sanction(%L, ''reviewed'')', tests.sanction_id('max')), 'an admin lifts a sanction on a moderator');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.revoke_sanction(%L, ''anon'')', tests.sanction_id('bert')), 'LP001', NULL,
                 'revoke_sanction: nobody acting is LP001');

-- == lp.active_sanction and lp.assert_not_sanctioned =======================================================
SELECT tests.clear_authentication();
SELECT is((lp.active_sanction(tests.user_id('sue'))).id, NULL, 'active_sanction: NULL for a user never sanctioned');
SELECT lives_ok($$SELECT lp.assert_not_sanctioned(tests.user_id('sue'))$$, 'assert_not_sanctioned: passes for a user never sanctioned');
SELECT tests.sanction('sue', 'warning', interval '0', NULL) IS NOT NULL AS warned;
SELECT tests.sanction('sue', 'mute', interval '0', interval '1 day') IS NOT NULL AS muted;
SELECT tests.sanction('sue', 'suspension', interval '-10 days', interval '-1 day') IS NOT NULL AS expired;
SELECT tests.sanction('sue', 'suspension', interval '1 day', interval '2 days') IS NOT NULL AS future;
SELECT tests.sanction('sue', 'ban', interval '-1 day', NULL, p_revoked => true) IS NOT NULL AS revoked;
SELECT is((lp.active_sanction(tests.user_id('sue'))).id, NULL,
          'active_sanction ignores warnings, mutes, expired, not-yet-started and revoked sanctions');
SELECT lives_ok($$SELECT lp.assert_not_sanctioned(tests.user_id('sue'))$$, 'so assert_not_sanctioned passes');
SELECT tests.authenticate_as(NULL);
SELECT is((api.login('sue', tests.password())).success, true, 'and sue can log in');
SELECT tests.clear_authentication();
SELECT is((lp.active_sanction(tests.user_id('sue'), ARRAY['warning'])).sanction_type, 'warning',
          'active_sanction(p_types => warning) finds the warning in force');
SELECT is((lp.active_sanction(tests.user_id('sue'), ARRAY['mute'])).sanction_type, 'mute', 'and a mute when asked for mutes');
SELECT lives_ok($$SELECT lp.assert_not_sanctioned(tests.user_id('sue'), ARRAY['suspension'])$$,
                'assert_not_sanctioned(suspension) passes with only a ban revoked and a suspension expired');
SELECT tests.sanction('sue', 'suspension', interval '-1 hour', interval '1 day') IS NOT NULL AS short_suspension;
SELECT tests.sanction('sue', 'suspension', interval '-1 hour', interval '5 days') IS NOT NULL AS long_suspension;
SELECT is((lp.active_sanction(tests.user_id('sue'))).ends_at, now() + interval '5 days',
          'active_sanction: of two suspensions in force, the one that lasts longer');
SELECT throws_ok($$SELECT lp.assert_not_sanctioned(tests.user_id('sue'))$$, 'LP022', NULL,
                 'assert_not_sanctioned: an active suspension is LP022');
SELECT tests.sanction('sue', 'ban', interval '-1 hour', interval '30 days') IS NOT NULL AS temporary_ban;
SELECT is((lp.active_sanction(tests.user_id('sue'))).sanction_type, 'ban', 'active_sanction: a ban comes before suspensions');
SELECT tests.sanction('sue', 'ban', interval '-1 hour', NULL) IS NOT NULL AS permanent_ban;
SELECT results_eq($$SELECT sanction_type::text, ends_at FROM lp.active_sanction(tests.user_id('sue'))$$, $$VALUES ('ban', NULL::timestamptz)$$,
                  'active_sanction: a permanent ban comes before a temporary one');
SELECT throws_ok($$SELECT lp.assert_not_sanctioned(tests.user_id('sue'), ARRAY['ban'])$$, 'LP022', NULL,
                 'assert_not_sanctioned(ban) is LP022 with a ban in force');
SELECT throws_ok($$SELECT lp.assert_not_sanctioned(tests.user_id('sue'), ARRAY['warning'])$$, 'LP022', NULL,
                 'assert_not_sanctioned(warning): a warning blocks only a caller that asks for warnings');

-- == api.list_settings and api.set_setting =================================================================
SELECT tests.authenticate_as('adam');
SELECT set_eq($$SELECT key FROM api.list_settings()$$,
              $$SELECT key FROM lp.settings$$,
              'list_settings: an admin sees every setting');
SELECT tests.authenticate_as('mona');
SELECT throws_ok($$SELECT * FROM api.list_settings()$$, 'LP002', NULL, 'list_settings: a moderator is LP002');
SELECT throws_ok($$SELECT api.set_setting('auth.lockout_minutes', '30')$$, 'LP002', NULL, 'set_setting: a moderator is LP002');
SELECT tests.authenticate_as('vera');
SELECT throws_ok($$SELECT api.set_setting('auth.lockout_minutes', '30')$$, 'LP002', NULL, 'set_setting: a viewer is LP002');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT api.set_setting('auth.lockout_minutes', '30')$$, 'LP001', NULL, 'set_setting: nobody acting is LP001');
SELECT throws_ok($$SELECT * FROM api.list_settings()$$, 'LP001', NULL, 'list_settings: nobody acting is LP001');

SELECT tests.authenticate_as('adam');
SELECT throws_ok($$SELECT api.set_setting('auth.no_such_key', '1')$$, 'LP091', NULL, 'set_setting: an unknown key is LP091');
SELECT throws_ok($$SELECT api.set_setting(NULL, '1')$$, 'LP091', NULL, 'set_setting: a NULL key is LP091');
SELECT throws_ok(format('SELECT api.set_setting(%L, %L)', k, v), 'LP092', NULL, format('set_setting: %s = %s is LP092 (%s)', k, v, why))
  FROM (VALUES ('auth.password_min_length', '"12"', 'a string for a number'),
               ('auth.password_min_length', 'true', 'a boolean for a number'),
               ('auth.password_min_length', 'null', 'JSON null'),
               ('auth.password_min_length', '12.5', 'not an integer'),
               ('auth.password_min_length', '-1', 'negative'),
               ('auth.password_min_length', '7', 'below 8'),
               ('auth.password_min_length', '73', 'above 72'),
               ('auth.bcrypt_cost', '9', 'below 10 (tests hash at 4 through the superuser only)'),
               ('auth.bcrypt_cost', '16', 'above 15'),
               ('auth.max_failed_logins', '0', 'below 1'),
               ('auth.minimum_age_years', '17', 'below 18'),
               ('auth.lockout_minutes', '0', 'below 1'),
               ('auth.session_ttl_hours', '100001', 'above 100000')) AS v (k, v, why);
SELECT throws_ok($$SELECT api.set_setting('auth.lockout_minutes', NULL)$$, 'LP092', NULL, 'set_setting: a NULL value is LP092');
SELECT tests.clear_authentication();
SELECT is_empty($$SELECT key, value FROM lp.settings WHERE updated_by IS NOT NULL$$, 'rejected changes changed no setting');

SELECT tests.authenticate_as('adam');
SELECT results_eq($$SELECT key, value, updated_by FROM api.set_setting('auth.password_min_length', '12')$$,
                  format('VALUES (''auth.password_min_length'', ''12''::jsonb, %L::uuid)', tests.user_id('adam')),
                  'set_setting: an admin changes a setting; the row records who');
SELECT lives_ok($$SELECT api.set_setting('auth.max_failed_logins', '2')$$, 'an admin lowers auth.max_failed_logins to 2');
SELECT lives_ok($$SELECT api.set_setting('auth.minimum_age_years', '21')$$, 'an admin raises auth.minimum_age_years to 21');
SELECT lives_ok($$SELECT api.set_setting('auth.bcrypt_cost', '10')$$, 'an admin sets auth.bcrypt_cost to 10 (the floor)');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT api.register_user('newbie@example.com', 'newbie', 'Eleven-ch1!', DATE '1990-01-01')$$, 'LP012', NULL,
                 'the new minimum length applies: 11 characters is now LP012');
SELECT throws_ok($$SELECT api.register_user('newbie@example.com', 'newbie', tests.password(), (current_date - interval '20 years')::date)$$, 'LP013', NULL,
                 'the new minimum age applies: 20 years old is now LP013');
SELECT lives_ok($$SELECT api.register_user('newbie@example.com', 'newbie', 'Twelve-chars', DATE '1990-01-01')$$,
                'a 12-character password of a 30-year-old is accepted');
SELECT tests.clear_authentication();
SELECT ok((SELECT password_hash LIKE '$2_$10$%' FROM lp.users WHERE id = tests.user_id('newbie')),
          'new password hashes use the new bcrypt cost (10)');
SELECT tests.authenticate_as(NULL);
SELECT is((SELECT array_agg((api.login('vera', 'Wrong-password-' || i)).error_code) FROM generate_series(1, 2) AS i), ARRAY['LP020', 'LP020'],
          'two failed logins ...');
SELECT is((api.login('vera', tests.password())).error_code, 'LP020', '... now lock the account (auth.max_failed_logins = 2)');

SELECT tests.clear_authentication();
SELECT * FROM finish();
ROLLBACK;
