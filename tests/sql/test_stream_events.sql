-- A stream's event log (issue 8, section 5): what api.start_stream, api.tip, api.tip_many, the viewer sweep and
-- api.end_stream append, how api.stream_events reads it (order, positions, anonymity, visibility), the purge
-- horizon (LP125) and the job that moves it.
--
-- api.stream_events returns only events of transactions older than every running one, and this file is one
-- transaction: the events it makes are read after moving them into the past (tx set to an old, finished
-- transaction id, as the superuser); that they stay invisible before is asserted too.
-- (tests/py/test_stream_events.py reads events that other transactions commit, with the client's listener.)
BEGIN;
SELECT plan(32);

CREATE FUNCTION tests.to_the_past() RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.stream_events SET tx = '100'::xid8 WHERE tx = pg_current_xact_id()
$$;
CREATE FUNCTION tests.kinds(p_stream uuid) RETURNS text[]
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT array_agg(e.kind::text ORDER BY e.id) FROM lp.stream_events AS e WHERE e.stream_id = p_stream
$$;
CREATE TABLE tests.positions (name text PRIMARY KEY, position text);
GRANT ALL ON tests.positions TO PUBLIC;

DO $$
DECLARE
    v_stream uuid;
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('adam', 'admin');
    INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at, expires_at)
    VALUES (tests.user_id('pia'), 'identity', 'approved', 'passport', 'DE', now(), now() + interval '1 year');
    PERFORM lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                    ARRAY[ROW(lp.system_wallet('issuance'), -1000, 'purchase', 0, false)::lp.posting,
                          ROW(tests.wallet('vic'), 1000, 'purchase', 0, false)::lp.posting]);
    PERFORM tests.authenticate_as('pia');
    v_stream := (api.schedule_stream('Events')).id;
    PERFORM tests.remember('s', v_stream);
    PERFORM tests.remember('private', (api.schedule_stream('Hidden', p_visibility => 'private')).id);
    PERFORM api.consent_to_stream(v_stream, '203.0.113.1');
    PERFORM api.start_stream(v_stream);
    PERFORM tests.clear_authentication();
END
$$;

-- == what is appended ======================================================================================
SELECT is(tests.kinds(tests.id('s')), ARRAY['stream_started'], 'start_stream appends stream_started');
SELECT tests.authenticate_as('vic');
SELECT isnt((api.tip(tests.user_id('pia'), 50, 'e-1', tests.id('s'), 'hello')).id, NULL, 'a named tip in the stream');
SELECT isnt((api.tip(tests.user_id('pia'), 30, 'e-2', tests.id('s'), NULL, true)).id, NULL, 'an anonymous one');
SELECT isnt((api.tip(tests.user_id('pia'), 10, 'e-3')).id, NULL, 'and one that names no stream');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM api.tip_many(jsonb_build_array(jsonb_build_object(
              'session_token', (api.login('vic', tests.password())).token,
              'recipient_id', tests.user_id('pia'), 'amount', 5, 'idempotency_key', 'e-4', 'stream_id', tests.id('s'))))
            WHERE error_code IS NULL), 1::bigint, 'a tip through api.tip_many into the stream');
SELECT is(tests.kinds(tests.id('s')), ARRAY['stream_started', 'tip', 'tip', 'tip'], 'each tip into the stream appends a tip event, in the same transaction');
SELECT results_eq($$SELECT payload - 'tip_id' FROM lp.stream_events WHERE kind = 'tip' ORDER BY id$$,
                  format($$VALUES (jsonb_build_object('sender_id', %L::uuid, 'amount', 50, 'message', 'hello', 'anonymous', false)),
                                  (jsonb_build_object('sender_id', %L::uuid, 'amount', 30, 'message', NULL, 'anonymous', true)),
                                  (jsonb_build_object('sender_id', %L::uuid, 'amount', 5, 'message', NULL, 'anonymous', false))$$,
                         tests.user_id('vic'), tests.user_id('vic'), tests.user_id('vic')),
                  'a tip event stores the sender, amount, message and anonymity (the reader applies the anonymity)');

-- == reading ===============================================================================================
SELECT tests.authenticate_as('vera');
SELECT is_empty(format($$SELECT * FROM api.stream_events(%L)$$, tests.id('s')),
                'stream_events: nothing of a transaction still running (this one)');
SELECT tests.clear_authentication();
SELECT tests.to_the_past();
SELECT tests.authenticate_as('vera');
SELECT results_eq(format($$SELECT kind, payload ->> 'sender_name', payload ? 'sender_id', (payload ->> 'amount')::int FROM api.stream_events(%L)$$, tests.id('s')),
                  $$VALUES ('stream_started', NULL, false, NULL::int), ('tip', 'vic', true, 50), ('tip', 'anonymous', false, 30),
                           ('tip', 'vic', true, 5)$$,
                  'stream_events: in order; a named tip names its sender, an anonymous one says anonymous and carries no id');
SELECT results_eq(format($$SELECT kind FROM api.stream_events(%L, (SELECT position FROM api.stream_events(%L, NULL, 2) OFFSET 1), 10)$$,
                         tests.id('s'), tests.id('s')),
                  $$VALUES ('tip'), ('tip')$$, 'stream_events: after a position, only what follows it');
SELECT ok((SELECT bool_and(position ~ '^100/[0-9]+$') FROM api.stream_events(tests.id('s'))), 'positions are tx/id');
SELECT tests.authenticate_as('pia');
SELECT is((SELECT count(*) FROM api.stream_events(tests.id('s')) WHERE payload ->> 'sender_name' = 'anonymous'), 1::bigint,
          'stream_events: the host does not learn who tipped anonymously');
SELECT tests.authenticate_as('adam');
SELECT is((SELECT count(*) FROM api.stream_events(tests.id('s')) WHERE payload ->> 'sender_name' = 'vic'), 3::bigint,
          'stream_events: an admin does');
SELECT tests.authenticate_as('vera');
SELECT throws_ok(format($$SELECT * FROM api.stream_events(%L)$$, tests.id('private')), 'LP003', NULL, 'stream_events: a private stream is LP003');
SELECT throws_ok(format($$SELECT * FROM api.stream_events(%L)$$, gen_random_uuid()), 'LP003', NULL, 'stream_events: an unknown stream is LP003');
SELECT throws_ok(format($$SELECT * FROM api.stream_events(%L, 'soon')$$, tests.id('s')), 'LP018', NULL, 'stream_events: a malformed position is LP018');
SELECT throws_ok(format($$SELECT * FROM api.stream_events(%L, NULL, 0)$$, tests.id('s')), 'LP018', NULL, 'stream_events: a limit of 0 is LP018');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format($$SELECT * FROM api.stream_events(%L)$$, tests.id('s')), 'LP001', NULL, 'stream_events: nobody acting is LP001');

-- == the LISTEN channel: a keyed name, told only to who may read the events ================================
SELECT tests.clear_authentication();
RESET ROLE;
CREATE TABLE tests.channels AS SELECT v.k, lp.event_channel(tests.id(v.k)) AS c FROM (VALUES ('s'), ('private')) AS v (k);
GRANT SELECT ON tests.channels TO PUBLIC;
SELECT tests.authenticate_as('vera');
SELECT is(api.stream_channel(tests.id('s')), (SELECT c FROM tests.channels WHERE k = 's'),
          'stream_channel: a public stream''s channel for any signed-in user');
SELECT throws_ok(format($$SELECT api.stream_channel(%L)$$, tests.id('private')), 'LP003', NULL,
                 'stream_channel: a private stream is LP003 to a viewer (its channel is not told)');
SELECT throws_ok(format($$SELECT api.stream_channel(%L)$$, gen_random_uuid()), 'LP003', NULL, 'stream_channel: an unknown stream is LP003');
SELECT tests.authenticate_as('pia');
SELECT is(api.stream_channel(tests.id('private')), (SELECT c FROM tests.channels WHERE k = 'private'),
          'stream_channel: the host is told the private stream''s channel');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format($$SELECT api.stream_channel(%L)$$, tests.id('s')), 'LP001', NULL, 'stream_channel: nobody acting is LP001');
SELECT ok((SELECT c FROM tests.channels WHERE k = 'private') !~ replace(tests.id('private')::text, '-', '')
          AND (SELECT c FROM tests.channels WHERE k = 'private') ~ '^lp_stream_[0-9a-f]{48}$',
          'the channel name is keyed: the stream id is not in it, nor derivable from it without the key');

-- == viewer counts and the end =============================================================================
SELECT tests.authenticate_as('vera');
SELECT is((api.join_stream(tests.id('s'))).viewers, 1, 'vera joins');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.sweep_viewers(), 0, 'the viewer sweep runs');
SELECT tests.authenticate_as('adam');
SELECT is((api.end_stream(tests.id('s'), 'rules')).status, 'ended', 'an admin ends the stream');
SELECT tests.clear_authentication();
SELECT is(tests.kinds(tests.id('s')), ARRAY['stream_started', 'tip', 'tip', 'tip', 'viewer_count', 'stream_ended'],
          'the sweep appended viewer_count (the count changed), the end stream_ended');
SELECT results_eq($$SELECT payload ->> 'viewers', NULL FROM lp.stream_events WHERE kind = 'viewer_count'
                    UNION ALL SELECT payload ->> 'by', payload ->> 'reason' FROM lp.stream_events WHERE kind = 'stream_ended'$$,
                  $$VALUES ('1', NULL), ('admin', 'rules')$$, 'their payloads: the count; who ended it (a moderation action) and why');

-- == the purge and its horizon =============================================================================
SELECT tests.to_the_past();
UPDATE lp.stream_events SET created_at = now() - interval '8 days' WHERE kind IN ('stream_started', 'tip');
SELECT tests.authenticate_as('vera');
INSERT INTO tests.positions SELECT 'first', position FROM api.stream_events(tests.id('s'), NULL, 1);
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.purge_stream_events(), 4, 'purge_stream_events: the 4 events older than events.retention_days (7) go');
SELECT tests.authenticate_as('vera');
SELECT throws_ok(format($$SELECT * FROM api.stream_events(%L, %L)$$, tests.id('s'), (SELECT position FROM tests.positions WHERE name = 'first')), 'LP125', NULL,
                 'stream_events: a reader behind the purge horizon is told to resync (LP125)');
SELECT results_eq(format($$SELECT kind FROM api.stream_events(%L)$$, tests.id('s')), $$VALUES ('viewer_count'), ('stream_ended')$$,
                  'stream_events: from the start, what is kept');

SELECT * FROM finish();
ROLLBACK;
