-- The outbox (lp.outbox) and the mailer (livepanty_mailer): a password reset token reaches the mailer and no
-- other role. api.request_password_reset answers a known, an unknown and a throttled address alike and queues
-- the e-mail; the mailer claims (lease, attempts), marks sent (payload erased) or failed (retry, give up);
-- newer requests and a password change supersede older e-mails (and revoke their tokens); expired, deleted and
-- abandoned messages are retired; every step is audited without the token, a failure without the mailer's error
-- text (it may quote the address); the application, service and reporting roles get 42501 and change nothing.
-- Two mailers claiming at the same time (SKIP LOCKED) need two connections: tests/py/test_outbox.py.
BEGIN;
SELECT plan(115);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.create_user, tests.user_id, tests.authenticate_as, tests.clear_authentication,
--                    tests.reset_payload(username), tests.reset_token(username)
--   10_scratch.sql:  tests.put, tests.remember(name, id), tests.id(name)
--   20_economy.sql:  tests.last_audit(action), tests.audits(action, target)

-- Helpers of this file.
-- Claim as the role in force; keep the claimed rows (a jsonb array, ordered by e-mail) under p_key; how many.
CREATE FUNCTION tests.claim(p_key text, p_limit integer DEFAULT 10, p_lease interval DEFAULT interval '5 minutes')
    RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_rows jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.email), '[]') INTO v_rows
      FROM api.claim_messages(p_limit, p_lease) AS c;
    PERFORM tests.put(p_key, v_rows);
    RETURN jsonb_array_length(v_rows);
END
$$;
-- A field of the n-th (from 0) message of a claim kept by tests.claim.
CREATE FUNCTION tests.claimed(p_key text, p_field text, p_n integer DEFAULT 0) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT value -> p_n ->> p_field FROM tests.ctx WHERE key = p_key
$$;
-- A user's newest message (any status), and the state of a message; both under any role.
CREATE FUNCTION tests.message_id(p_username text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT o.id FROM lp.outbox AS o WHERE o.user_id = tests.user_id(p_username)
     ORDER BY o.created_at DESC, o.id DESC LIMIT 1
$$;
CREATE FUNCTION tests.state(p_id uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT format('%s attempts=%s claimed=%s payload=%s', o.status, o.attempts, (o.claimed_until IS NOT NULL)::text,
                  (o.payload IS NOT NULL)::text)
      FROM lp.outbox AS o WHERE o.id = p_id
$$;
CREATE FUNCTION tests.outbox_count() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.outbox
$$;
-- Every token handed out in this file, by name, to use it and to look for it in the audit trail at the end.
CREATE TABLE tests.tokens (name text PRIMARY KEY, token text NOT NULL);
CREATE FUNCTION tests.keep_token(p_name text, p_username text) RETURNS text
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    INSERT INTO tests.tokens VALUES (p_name, tests.reset_token(p_username)) RETURNING '# kept token ' || name
$$;
CREATE FUNCTION tests.token(p_name text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT t.token FROM tests.tokens AS t WHERE t.name = p_name
$$;
-- Move a message's clock: its lease, next attempt or expiry into the past (as the superuser).
CREATE FUNCTION tests.age(p_id uuid, p_column text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE lp.outbox SET %I = now() - interval ''1 second'' WHERE id = $1', p_column) USING p_id;
END
$$;

DO $$
DECLARE
    v_name text;
BEGIN
    FOREACH v_name IN ARRAY ARRAY['rita', 'fay', 'pete', 'carl', 'eve', 'dora', 'sam', 'cleo', 'gus'] LOOP
        PERFORM tests.create_user(v_name);
    END LOOP;
    PERFORM tests.create_user('adam', 'admin');
END
$$;
SELECT tests.put('rs1', api.login('rita', tests.password()));

-- == The token reaches no application role ==================================================================
SELECT is(pg_get_function_result('api.request_password_reset(text, inet)'::regprocedure), 'void',
          'api.request_password_reset returns nothing (no token, no expiry)');
SELECT tests.authenticate_as(NULL);
SELECT results_eq($$SELECT api.request_password_reset('Rita@Example.com', '203.0.113.9')::text$$,
                  $$SELECT api.request_password_reset('ghost@example.com', '203.0.113.9')::text$$,
                  'livepanty_app: a known and an unknown address get the same answer');
SELECT tests.keep_token('rita1', 'rita');
SELECT tests.remember('rita1', tests.message_id('rita'));
SELECT throws_ok($$SELECT * FROM lp.outbox$$, '42501', NULL, 'livepanty_app: lp.outbox is not readable');
SELECT throws_ok($$SELECT count(*) FROM lp.outbox$$, '42501', NULL, 'livepanty_app: not even its size');
SELECT throws_ok($$SELECT * FROM api.claim_messages()$$, '42501', NULL, 'livepanty_app: api.claim_messages is refused (42501)');
SELECT throws_ok(format('SELECT api.mark_message_sent(%L, 1)', tests.id('rita1')), '42501', NULL,
                 'livepanty_app: api.mark_message_sent is refused');
SELECT throws_ok(format('SELECT api.mark_message_failed(%L, 1, %L, true)', tests.id('rita1'), 'x'), '42501', NULL,
                 'livepanty_app: api.mark_message_failed is refused');
SELECT tests.authenticate_as('adam');
SELECT throws_ok($$SELECT * FROM lp.outbox$$, '42501', NULL, 'livepanty_app with an admin acting: lp.outbox is not readable either');
SELECT throws_ok($$SELECT * FROM api.claim_messages()$$, '42501', NULL, 'livepanty_app with an admin acting: no claim');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok($$SELECT * FROM lp.outbox$$, '42501', NULL, 'livepanty_service: lp.outbox is not readable');
SELECT throws_ok($$SELECT * FROM api.claim_messages()$$, '42501', NULL, 'livepanty_service: api.claim_messages is refused');
SELECT throws_ok(format('SELECT api.mark_message_sent(%L, 1)', tests.id('rita1')), '42501', NULL,
                 'livepanty_service: api.mark_message_sent is refused');
SELECT tests.authenticate_as(NULL, 'livepanty_readonly');
SELECT throws_ok($$SELECT * FROM lp.outbox$$, '42501', NULL, 'livepanty_readonly: lp.outbox is not readable');
SELECT throws_ok($$SELECT * FROM api.claim_messages()$$, '42501', NULL, 'livepanty_readonly: api.claim_messages is refused');
SELECT tests.authenticate_as(NULL, 'livepanty_mailer');
SELECT throws_ok($$SELECT * FROM lp.outbox$$, '42501', NULL, 'livepanty_mailer: reads lp.outbox only through its functions');
SELECT throws_ok($$SELECT api.request_password_reset('rita@example.com')$$, '42501', NULL,
                 'livepanty_mailer: cannot ask for a reset itself');
SELECT throws_ok($$SELECT id FROM lp.password_reset_tokens$$, '42501', NULL, 'livepanty_mailer: reads no other lp table');
SELECT tests.clear_authentication();
SELECT is(tests.state(tests.id('rita1')), 'queued attempts=0 claimed=false payload=true',
          'the refused calls changed nothing: the message is queued, never claimed');

-- == Enqueue ===============================================================================================
SELECT results_eq($$SELECT kind, email, status::text, attempts, claimed_until, expires_at, sent_at FROM lp.outbox$$,
                  $$VALUES ('password_reset', 'rita@example.com', 'queued', 0, NULL::timestamptz,
                            now() + interval '60 minutes', NULL::timestamptz)$$,
                  'one e-mail is queued for the known address (none for the unknown one), expiring with the token');
SELECT ok(tests.token('rita1') ~ '^[A-Za-z0-9_-]{43}$', 'its payload holds the 43-character token');
SELECT is((SELECT token_hash FROM lp.password_reset_tokens WHERE user_id = tests.user_id('rita') AND revoked_at IS NULL),
          sha256(convert_to(tests.token('rita1'), 'UTF8')), 'the token is the one whose hash lp.password_reset_tokens holds');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(tests.reset_payload('rita')) AS k),
          ARRAY['display_name', 'expires_at', 'language', 'token', 'username'],
          'the payload has what the template needs: token, expiry, username, display name, language');
SELECT is((tests.reset_payload('rita') ->> 'expires_at')::timestamptz, now() + interval '60 minutes',
          'the payload says when the token expires');
SELECT results_eq($$SELECT actor_id, target_type, target_id, details FROM tests.last_audit('outbox.enqueue')$$,
                  $$VALUES (tests.user_id('rita'), 'message', tests.id('rita1')::text,
                            jsonb_build_object('kind', 'password_reset', 'user_id', tests.user_id('rita')))$$,
                  'the enqueue is audited (outbox.enqueue on the message: kind and user)');
SELECT results_eq($$SELECT actor_id, ip_address, details FROM tests.last_audit('auth.password_reset_request')$$,
                  $$VALUES (NULL::uuid, '203.0.113.9'::inet, '{"known": false}'::jsonb)$$,
                  'the unknown address is audited as before (known: false)');

-- == Throttle ==============================================================================================
SELECT tests.authenticate_as(NULL);
SELECT lives_ok($$SELECT api.request_password_reset('rita@example.com', '203.0.113.10')$$,
                'a second request within auth.reset_request_interval_seconds (60) is answered the same');
SELECT tests.clear_authentication();
SELECT is(tests.outbox_count(), 1::bigint, 'and queues nothing');
SELECT is(ARRAY[tests.state(tests.id('rita1')), tests.reset_token('rita')],
          ARRAY['queued attempts=0 claimed=false payload=true', tests.token('rita1')],
          'the first e-mail and its token stay as they were');
SELECT is((SELECT count(*) FROM lp.password_reset_tokens WHERE user_id = tests.user_id('rita') AND revoked_at IS NULL), 1::bigint,
          'no token is revoked or added');
SELECT results_eq($$SELECT actor_id, ip_address, details FROM tests.last_audit('auth.password_reset_request')$$,
                  $$VALUES (tests.user_id('rita'), '203.0.113.10'::inet, '{"known": true, "throttled": true}'::jsonb)$$,
                  'the throttled request is audited (throttled: true)');
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action = 'outbox.enqueue'), 1::bigint, 'and no enqueue is audited for it');

-- == Supersede =============================================================================================
UPDATE lp.outbox SET created_at = now() - interval '61 seconds';
SELECT tests.authenticate_as(NULL);
SELECT lives_ok($$SELECT api.request_password_reset('rita@example.com')$$, 'a request after the interval queues a new e-mail');
SELECT tests.keep_token('rita2', 'rita');
SELECT tests.remember('rita2', tests.message_id('rita'));
SELECT tests.clear_authentication();
SELECT is(tests.state(tests.id('rita1')), 'superseded attempts=0 claimed=false payload=false',
          'the older unsent e-mail is superseded and its payload erased');
SELECT isnt(tests.token('rita2'), tests.token('rita1'), 'the new e-mail carries a new token');
SELECT is(tests.audits('outbox.superseded', tests.id('rita1')), 1::bigint, 'the supersede is audited (outbox.superseded)');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.reset_password(%L, %L)', tests.token('rita1'), 'Fresh-start-2024'), 'LP025', NULL,
                 'the superseded e-mail''s token no longer works (LP025)');

-- == Claim =================================================================================================
SELECT tests.authenticate_as(NULL, 'livepanty_mailer');
SELECT throws_ok($$SELECT * FROM api.claim_messages(0)$$, 'LP018', NULL, 'claim_messages: a limit of 0 is LP018');
SELECT throws_ok($$SELECT * FROM api.claim_messages(1001)$$, 'LP018', NULL, 'claim_messages: a limit over 1000 is LP018');
SELECT throws_ok($$SELECT * FROM api.claim_messages(10, interval '0 seconds')$$, 'LP018', NULL, 'claim_messages: an empty lease is LP018');
SELECT throws_ok($$SELECT * FROM api.claim_messages(10, interval '2 hours')$$, 'LP018', NULL, 'claim_messages: a lease over an hour is LP018');
SELECT is(tests.state(tests.id('rita2')), 'queued attempts=0 claimed=false payload=true', 'the refused claims changed nothing');
SELECT is(tests.claim('c1'), 1, 'the mailer claims the one queued e-mail');
SELECT is(tests.claimed('c1', 'id')::uuid, tests.id('rita2'), 'the newest one (the superseded one is not offered)');
SELECT is(ARRAY[tests.claimed('c1', 'kind'), tests.claimed('c1', 'email'), tests.claimed('c1', 'attempt')],
          ARRAY['password_reset', 'rita@example.com', '1'], 'with kind, recipient and attempt number 1');
SELECT is((SELECT value -> 0 -> 'payload' ->> 'token' FROM tests.ctx WHERE key = 'c1'), tests.token('rita2'),
          'and the payload with the token: the mailer is the one role that gets it');
SELECT is(tests.claimed('c1', 'claimed_until')::timestamptz, now() + interval '5 minutes', 'leased for 5 minutes by default');
SELECT is(tests.claim('c2'), 0, 'a second claim during the lease returns nothing (no message is claimed twice)');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT actor_id, target_id, details ->> 'attempt', details ->> 'user_id' FROM tests.last_audit('outbox.claim')$$,
                  $$VALUES (NULL::uuid, tests.id('rita2')::text, '1', tests.user_id('rita')::text)$$,
                  'the claim is audited (outbox.claim, attempt, no actor)');
-- the mailer crashes: its lease runs out
SELECT tests.age(tests.id('rita2'), 'claimed_until');
SELECT tests.authenticate_as(NULL, 'livepanty_mailer');
SELECT is(tests.claim('c3', 10, interval '1 minute'), 1, 'after the lease ran out the message can be claimed again');
SELECT is(ARRAY[tests.claimed('c3', 'id'), tests.claimed('c3', 'attempt')], ARRAY[tests.id('rita2')::text, '2'],
          'as attempt 2');
SELECT is(tests.claimed('c3', 'claimed_until')::timestamptz, now() + interval '1 minute', 'with the lease asked for');

-- == Mark sent =============================================================================================
SELECT throws_ok(format('SELECT api.mark_message_sent(%L, 1)', tests.id('rita2')), 'LP004', NULL,
                 'mark_message_sent: the crashed claim (attempt 1) no longer holds the message (LP004)');
SELECT throws_ok(format('SELECT api.mark_message_sent(%L, NULL)', tests.id('rita2')), 'LP018', NULL,
                 'mark_message_sent: no attempt is LP018');
SELECT throws_ok(format('SELECT api.mark_message_sent(%L, 2, %L)', tests.id('rita2'), repeat('x', 256)), 'LP018', NULL,
                 'mark_message_sent: a provider reference over 255 characters is LP018');
SELECT throws_ok(format('SELECT api.mark_message_sent(%L, 2)', gen_random_uuid()), 'LP003', NULL,
                 'mark_message_sent: an unknown message is LP003');
SELECT throws_ok(format('SELECT api.mark_message_sent(%L, 1)', tests.id('rita1')), 'LP004', NULL,
                 'mark_message_sent: a superseded message is LP004');
SELECT is(tests.state(tests.id('rita2')), 'queued attempts=2 claimed=true payload=true', 'the refusals changed nothing');
SELECT lives_ok(format('SELECT api.mark_message_sent(%L, 2, %L)', tests.id('rita2'), 'smtp-250-abc'),
                'mark_message_sent: the current claim reports the e-mail sent');
SELECT throws_ok(format('SELECT api.mark_message_sent(%L, 2)', tests.id('rita2')), 'LP004', NULL,
                 'mark_message_sent: a second report is LP004');
SELECT throws_ok(format('SELECT api.mark_message_failed(%L, 2, %L)', tests.id('rita2'), 'late'), 'LP004', NULL,
                 'mark_message_failed: a sent message cannot fail (LP004)');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT status::text, payload, claimed_until, sent_at, provider_reference FROM lp.outbox WHERE id = tests.id('rita2')$$,
                  $$VALUES ('sent', NULL::jsonb, NULL::timestamptz, now(), 'smtp-250-abc')$$,
                  'sent: the payload (and with it the token) is erased; sent_at and the provider reference are kept');
SELECT is_empty($$SELECT id FROM lp.outbox WHERE payload IS NOT NULL$$, 'the outbox keeps no token once nothing is queued');
SELECT results_eq($$SELECT actor_id, target_id, details ->> 'attempt', details ->> 'provider_reference' FROM tests.last_audit('outbox.sent')$$,
                  $$VALUES (NULL::uuid, tests.id('rita2')::text, '2', 'smtp-250-abc')$$, 'the delivery is audited (outbox.sent)');
-- the user gets the e-mail and resets
SELECT tests.authenticate_as(NULL);
SELECT is(api.reset_password(tests.token('rita2'), 'Fresh-start-2024'), tests.user_id('rita'),
          'the delivered token resets the password');
SELECT is((api.login('rita', 'Fresh-start-2024')).success, true, 'the new password logs in');
SELECT throws_ok(format('SELECT api.authenticate(%L)', tests.get('rs1', 'token')), 'LP023', NULL,
                 'the sessions from before the reset are revoked');

-- == Mark failed: retry, back-off, give up ==================================================================
SELECT api.request_password_reset('fay@example.com');
SELECT tests.keep_token('fay', 'fay');
SELECT tests.remember('fay', tests.message_id('fay'));
SELECT tests.authenticate_as(NULL, 'livepanty_mailer');
SELECT is(tests.claim('f1'), 1, 'fay''s e-mail is claimed (attempt 1)');
SELECT throws_ok(format('SELECT api.mark_message_failed(%L, 1, %L)', tests.id('fay'), '  '), 'LP018', NULL,
                 'mark_message_failed: an empty error is LP018');
SELECT throws_ok(format('SELECT api.mark_message_failed(%L, 1, %L)', tests.id('fay'), repeat('e', 1001)), 'LP018', NULL,
                 'mark_message_failed: an error over 1000 characters is LP018');
SELECT throws_ok(format('SELECT api.mark_message_failed(%L, 1, %L)', gen_random_uuid(), 'x'), 'LP003', NULL,
                 'mark_message_failed: an unknown message is LP003');
SELECT throws_ok(format('SELECT api.mark_message_failed(%L, 2, %L)', tests.id('fay'), 'x'), 'LP004', NULL,
                 'mark_message_failed: another attempt number than the claim''s is LP004');
SELECT is(api.mark_message_failed(tests.id('fay'), 1, '451 try again later'), now() + interval '60 seconds',
          'a failed attempt returns when the e-mail comes back: after outbox.retry_seconds (60)');
SELECT throws_ok(format('SELECT api.mark_message_failed(%L, 1, %L)', tests.id('fay'), 'x'), 'LP004', NULL,
                 'mark_message_failed: a message waiting for its retry is held by no claim (LP004)');
SELECT is(tests.claim('f2'), 0, 'the e-mail is not offered before its retry time');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT status::text, attempts, claimed_until, next_attempt_at, last_error, payload IS NOT NULL FROM lp.outbox WHERE id = tests.id('fay')$$,
                  $$VALUES ('queued', 1, NULL::timestamptz, now() + interval '60 seconds', '451 try again later', true)$$,
                  'it stays queued with its payload, the error kept');
SELECT results_eq($$SELECT details ->> 'attempt', details ->> 'smtp_code', details ->> 'permanent', details ->> 'gave_up', (details ->> 'retry_at')::timestamptz FROM tests.last_audit('outbox.failed')$$,
                  $$VALUES ('1', '451', 'false', 'false', now() + interval '60 seconds')$$,
                  'the failure is audited (outbox.failed: the SMTP reply code, not permanent, retry time)');
SELECT ok(NOT (SELECT details ? 'error' FROM tests.last_audit('outbox.failed')),
          'the audit row does not copy the mailer''s error text (kept in the outbox row only)');
SELECT tests.age(tests.id('fay'), 'next_attempt_at');
SELECT tests.authenticate_as(NULL, 'livepanty_mailer');
SELECT is(tests.claim('f3'), 1, 'at its retry time the e-mail is claimed again (attempt 2)');
SELECT is(api.mark_message_failed(tests.id('fay'), 2, '451 still busy'), now() + interval '120 seconds',
          'the second failure waits twice as long');
SELECT tests.clear_authentication();
UPDATE lp.settings SET value = '3' WHERE key = 'outbox.max_attempts';
SELECT tests.age(tests.id('fay'), 'next_attempt_at');
SELECT tests.authenticate_as(NULL, 'livepanty_mailer');
SELECT is(tests.claim('f4'), 1, 'attempt 3 (outbox.max_attempts set to 3)');
SELECT is(api.mark_message_failed(tests.id('fay'), 3, '550 mailbox unavailable'), NULL::timestamptz,
          'the last attempt failing gives up: NULL, no retry');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT status::text, attempts, payload, claimed_until, last_error FROM lp.outbox WHERE id = tests.id('fay')$$,
                  $$VALUES ('failed', 3, NULL::jsonb, NULL::timestamptz, '550 mailbox unavailable')$$,
                  'given up: failed, the payload erased');
SELECT results_eq($$SELECT details ->> 'attempt', details ->> 'gave_up', details ->> 'retry_at' FROM tests.last_audit('outbox.failed')$$,
                  $$VALUES ('3', 'true', NULL::text)$$, 'audited (outbox.failed, gave_up)');
-- a permanent failure gives up at once
SELECT api.request_password_reset('pete@example.com');
SELECT tests.keep_token('pete', 'pete');
SELECT tests.remember('pete', tests.message_id('pete'));
SELECT tests.authenticate_as(NULL, 'livepanty_mailer');
SELECT is(tests.claim('p1'), 1, 'pete''s e-mail is claimed');
SELECT is(api.mark_message_failed(tests.id('pete'), 1, 'no such domain', p_permanent => true), NULL::timestamptz,
          'a permanent failure (p_permanent) gives up at the first attempt');
SELECT tests.clear_authentication();
SELECT is(tests.state(tests.id('pete')), 'failed attempts=1 claimed=false payload=false', 'failed, payload erased');
-- a bounce quotes the recipient's address: it stays in the outbox row (deleted by the e-mail retention purge and
-- by an erasure), never in the audit trail, which is kept for years
SELECT api.request_password_reset('gus@example.com');
SELECT tests.keep_token('gus', 'gus');
SELECT tests.remember('gus', tests.message_id('gus'));
SELECT tests.authenticate_as(NULL, 'livepanty_mailer');
SELECT is(tests.claim('g1'), 1, 'gus''s e-mail is claimed');
SELECT is(api.mark_message_failed(tests.id('gus'), 1, '550 5.1.1 <gus@example.com>: Recipient address rejected', true),
          NULL::timestamptz, 'a bounce naming the address, permanent');
SELECT tests.clear_authentication();
SELECT is((SELECT last_error FROM lp.outbox WHERE id = tests.id('gus')), '550 5.1.1 <gus@example.com>: Recipient address rejected',
          'the outbox row keeps the error for the mailer''s operators');
SELECT results_eq($$SELECT details FROM tests.last_audit('outbox.failed')$$,
                  format($$VALUES (jsonb_build_object('kind', 'password_reset', 'user_id', %L::uuid, 'attempt', 1, 'smtp_code', '550',
                                                      'permanent', true, 'gave_up', true, 'retry_at', NULL))$$, tests.user_id('gus')),
                  'the audit row classifies it (SMTP code 550, permanent, given up) without the text');
SELECT is_empty($$SELECT id FROM lp.audit_logs WHERE details::text ILIKE '%gus@example.com%'$$,
                'no audit row holds the address');

-- == Retired at claim time: abandoned, expired, user deleted =================================================
SELECT api.request_password_reset('carl@example.com'), api.request_password_reset('eve@example.com'),
       api.request_password_reset('dora@example.com'), api.request_password_reset('sam@example.com');
SELECT tests.keep_token('carl', 'carl'), tests.keep_token('eve', 'eve'), tests.keep_token('dora', 'dora'),
       tests.keep_token('sam', 'sam');
SELECT tests.remember('carl', tests.message_id('carl')), tests.remember('eve', tests.message_id('eve')),
       tests.remember('dora', tests.message_id('dora')), tests.remember('sam', tests.message_id('sam'));
-- carl's e-mail was claimed three times by mailers that crashed; eve's expired unsent; dora deleted her account
UPDATE lp.outbox SET attempts = 3, claimed_until = now() - interval '1 second' WHERE id = tests.id('carl');
SELECT tests.age(tests.id('eve'), 'expires_at');
SELECT tests.login_as('dora');  -- a user's own deletion wants a recent login
SELECT lives_ok($$SELECT api.delete_user()$$, 'dora deletes her account with a reset e-mail queued');
SELECT tests.authenticate_as(NULL, 'livepanty_mailer');
SELECT is(tests.claim('r1'), 1, 'the next claim returns only the e-mail that may still go out');
SELECT is(tests.claimed('r1', 'email'), 'sam@example.com', 'sam''s');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT tests.state(o.id), o.last_error
                      FROM unnest(ARRAY[tests.id('carl'), tests.id('eve'), tests.id('dora')]) WITH ORDINALITY AS m (id, n)
                      JOIN lp.outbox AS o ON o.id = m.id ORDER BY m.n$$,
                  $$VALUES ('failed attempts=3 claimed=false payload=false', 'no report from the mailer after the last attempt'),
                           ('expired attempts=0 claimed=false payload=false', NULL),
                           ('cancelled attempts=0 claimed=false payload=false', NULL)$$,
                  'abandoned after outbox.max_attempts claims: failed; expired: expired; user deleted: cancelled; each payload erased');
SELECT is(ARRAY[tests.audits('outbox.failed', tests.id('carl')), tests.audits('outbox.expired', tests.id('eve')),
                tests.audits('outbox.cancelled', tests.id('dora'))], ARRAY[1, 1, 1]::bigint[],
          'each retirement is audited');
-- a newer request supersedes an e-mail that is claimed right now: the old claim can no longer report it
UPDATE lp.outbox SET created_at = now() - interval '61 seconds' WHERE id = tests.id('sam');
SELECT api.request_password_reset('sam@example.com');
SELECT is(tests.state(tests.id('sam')), 'superseded attempts=1 claimed=false payload=false',
          'a claimed e-mail is superseded by a newer request too (payload erased, lease dropped)');
SELECT tests.authenticate_as(NULL, 'livepanty_mailer');
SELECT throws_ok(format('SELECT api.mark_message_sent(%L, 1)', tests.id('sam')), 'LP004', NULL,
                 'the mailer''s report on the superseded e-mail is LP004');
SELECT is(tests.claim('s2'), 1, 'the newer e-mail is claimable at once');
SELECT isnt((SELECT value -> 0 -> 'payload' ->> 'token' FROM tests.ctx WHERE key = 's2'), tests.token('sam'),
            'with the new token');
SELECT tests.clear_authentication();

-- == A password change supersedes the reset e-mails and tokens asked for before it =========================
-- Whoever read cleo's mailbox (or her unsent e-mail) once must not take the account back after she changed her
-- password: the old token is revoked, the unsent e-mail superseded with its payload erased.
SELECT tests.authenticate_as(NULL);
SELECT api.request_password_reset('cleo@example.com');
SELECT tests.keep_token('cleo', 'cleo');
SELECT tests.remember('cleo', tests.message_id('cleo'));
SELECT tests.authenticate_as('cleo');
SELECT is((api.change_password(tests.password(), 'Violet-meadow-42')).success, true, 'cleo changes her password');
SELECT tests.clear_authentication();
SELECT is(tests.state(tests.id('cleo')), 'superseded attempts=0 claimed=false payload=false',
          'change_password: her unsent reset e-mail is superseded, its payload (the token) erased');
SELECT is((SELECT count(*) FROM lp.password_reset_tokens WHERE user_id = tests.user_id('cleo') AND revoked_at IS NULL),
          0::bigint, 'change_password: her unused reset token is revoked');
SELECT results_eq($$SELECT tests.audits('outbox.superseded', tests.id('cleo')), (SELECT (details ->> 'reset_tokens_revoked')::integer FROM tests.last_audit('auth.password_change'))$$,
                  $$VALUES (1::bigint, 1)$$, 'audited: outbox.superseded, and auth.password_change counts the revoked token');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.reset_password(%L, %L)', tests.token('cleo'), 'Taken-over-2024'), 'LP025', NULL,
                 'the token asked for before the change no longer works (LP025)');
SELECT is((api.login('cleo', 'Violet-meadow-42')).success, true, 'her new password still logs in');
SELECT tests.authenticate_as(NULL, 'livepanty_mailer');
SELECT is_empty($$SELECT * FROM api.claim_messages() WHERE email = 'cleo@example.com'$$, 'the mailer gets no e-mail for her');
SELECT tests.clear_authentication();

-- == Settings ==============================================================================================
SELECT tests.authenticate_as('adam');
SELECT throws_ok($$SELECT api.set_setting('auth.reset_request_interval_seconds', '86401')$$, 'LP092', NULL,
                 'set_setting: auth.reset_request_interval_seconds above a day is LP092');
SELECT throws_ok($$SELECT api.set_setting('outbox.max_attempts', '0')$$, 'LP092', NULL, 'set_setting: outbox.max_attempts 0 is LP092');
SELECT throws_ok($$SELECT api.set_setting('outbox.max_attempts', '101')$$, 'LP092', NULL, 'set_setting: outbox.max_attempts 101 is LP092');
SELECT throws_ok($$SELECT api.set_setting('outbox.retry_seconds', '86401')$$, 'LP092', NULL, 'set_setting: outbox.retry_seconds above a day is LP092');
SELECT is((api.set_setting('auth.reset_request_interval_seconds', '0')).value, '0'::jsonb,
          'set_setting: 0 turns the throttle off');
SELECT is((api.set_setting('outbox.retry_seconds', '300')).value, '300'::jsonb, 'set_setting: outbox.retry_seconds 300');

-- == No token in the audit trail ============================================================================
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM tests.tokens), 10::bigint, 'ten tokens were handed out in this file');
SELECT is_empty($$SELECT a.id, t.name FROM lp.audit_logs AS a JOIN tests.tokens AS t ON strpos(a.details::text, t.token) > 0$$,
                'no audit row holds any of them');

SELECT * FROM finish();
ROLLBACK;
