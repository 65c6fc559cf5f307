-- api.unlock_user: an admin lifts a running login lockout (allow), nobody else may, an account that is not
-- locked is refused, and every refusal changes nothing; the next login is judged afresh.
BEGIN;
SELECT plan(18);

CREATE FUNCTION tests.lock_state(p_username text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT format('%s/%s', u.locked_until IS NOT NULL AND u.locked_until > now(), u.failed_login_count)
      FROM lp.users AS u WHERE u.id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.unlock_audits(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.audit_logs AS a
     WHERE a.action = 'user.unlock' AND a.target_id = tests.user_id(p_username)::text
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('free');
    PERFORM tests.create_user('gone');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('gone');
END
$$;

-- Five wrong passwords lock vera (auth.max_failed_logins), as a real attacker would.
SELECT tests.clear_authentication();
DO $$
BEGIN
    FOR i IN 1..5 LOOP
        PERFORM api.login('vera', 'wrong password');
    END LOOP;
END
$$;
SELECT is(tests.lock_state('vera'), 't/0', 'vera is locked (the count restarts at the lock)');
SELECT is((api.login('vera', tests.password())).error_code, 'LP020', 'locked: even the right password is refused');

-- Deny: nobody acting, a viewer, a moderator; each changes nothing.
SELECT tests.clear_authentication();
SELECT throws_ok(format($$SELECT api.unlock_user(%L, 'x')$$, tests.user_id('vera')), 'LP001', NULL, 'nobody acting: LP001');
SELECT tests.authenticate_as('free');
SELECT throws_ok(format($$SELECT api.unlock_user(%L, 'x')$$, tests.user_id('vera')), 'LP002', NULL, 'a viewer: LP002');
SELECT tests.authenticate_as('mona');
SELECT throws_ok(format($$SELECT api.unlock_user(%L, 'x')$$, tests.user_id('vera')), 'LP002', NULL, 'a moderator: LP002');
SELECT tests.authenticate_as('adam');
SELECT throws_ok(format($$SELECT api.unlock_user(%L, '  ')$$, tests.user_id('vera')), 'LP018', NULL, 'no reason: LP018');
SELECT throws_ok(format($$SELECT api.unlock_user(%L, 'x')$$, tests.user_id('gone')), 'LP003', NULL, 'a deleted user: LP003');
SELECT throws_ok($$SELECT api.unlock_user(gen_random_uuid(), 'x')$$, 'LP003', NULL, 'an unknown id: LP003');
SELECT throws_ok(format($$SELECT api.unlock_user(%L, 'x')$$, tests.user_id('free')), 'LP004', NULL,
                 'an account that is not locked: LP004');
SELECT is(tests.lock_state('vera'), 't/0', 'the refusals changed nothing');
SELECT is(tests.unlock_audits('vera'), 0::bigint, 'and audited nothing');

-- Allow: the admin lifts it, once.
SELECT is((SELECT username FROM api.unlock_user(tests.user_id('vera'), 'ticket 4711')), 'vera', 'an admin unlocks vera');
SELECT is(tests.lock_state('vera'), 'f/0', 'locked_until and the failure count are cleared');
SELECT is(tests.unlock_audits('vera'), 1::bigint, 'audited as user.unlock');
SELECT is((SELECT a.details->>'reason' FROM lp.audit_logs AS a WHERE a.action = 'user.unlock'), 'ticket 4711',
          'with the reason');
SELECT throws_ok(format($$SELECT api.unlock_user(%L, 'again')$$, tests.user_id('vera')), 'LP004', NULL,
                 'a second unlock: LP004');

-- The next login is judged afresh.
SELECT tests.clear_authentication();
SELECT ok((api.login('vera', tests.password())).success, 'vera logs in after the unlock');

-- A lockout that ended by itself is not "locked" any more.
UPDATE lp.users SET locked_until = now() - interval '1 minute', failed_login_count = 5 WHERE id = tests.user_id('free');
SELECT tests.authenticate_as('adam');
SELECT throws_ok(format($$SELECT api.unlock_user(%L, 'x')$$, tests.user_id('free')), 'LP004', NULL,
                 'an expired lockout: LP004 (nothing to lift)');

SELECT * FROM finish();
ROLLBACK;
