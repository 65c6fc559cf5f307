-- Co-performers of other shards, the stream's side (migration 0047; docs/scale-out.md, "Co-performers of other
-- shards"), in one database: a co-performer marked as the stub of a user of another shard (lp.remote_users) is
-- judged by the go-live gate with what their own shard said (lp.remote_gates), never by the stub's own rows
-- (a stub has no verification and no sanctions here); never asked, they fail the gate; their consent is still
-- this stream's. lp.performer_gaps, the per-person rule, answers only for users who live here. The router's
-- refresh (router.refresh_gates through shard.remote_cast, shard.performer_gaps, shard.note_gates) is tested in
-- tests/py/test_shards.py.
BEGIN;
SELECT plan(14);

SELECT tests.create_user('hana', 'performer');                      -- the host, verified here
SELECT tests.create_user('kai', 'performer', p_verified => false);  -- the stub of a performer of shard 1
SELECT tests.create_user('lia', 'performer', p_verified => false);  -- a performer of this database
INSERT INTO lp.remote_users (user_id, home_shard) VALUES (tests.user_id('kai'), 1);

SELECT tests.authenticate_as('hana');
SELECT tests.remember('duo', (api.schedule_stream('duo')).id);
SELECT api.add_stream_performer(tests.id('duo'), tests.user_id('kai'));
SELECT api.consent_to_stream(tests.id('duo'), '203.0.113.1');
SELECT tests.clear_authentication();

SELECT is(lp.performer_gaps(tests.user_id('hana')), ARRAY[]::text[], 'performer_gaps: a verified performer of this database lacks nothing');
SELECT is(lp.performer_gaps(tests.user_id('lia')), ARRAY['no approved identity verification'], 'performer_gaps: one of this database who never verified');
SELECT is(lp.performer_gaps(tests.user_id('kai')), ARRAY['not an active performer'], 'performer_gaps: a stub is no performer of this database (their shard answers for them)');
SELECT is(lp.performer_gaps(gen_random_uuid()), ARRAY['not an active performer'], 'performer_gaps: nobody');

SELECT is(lp.go_live_gaps(tests.id('duo'), tests.user_id('hana')),
          ARRAY['kai: not checked on their own shard, no consent for this stream'],
          'gate: a stub never checked on their own shard fails it (and has not consented)');
SELECT tests.authenticate_as('kai');
SELECT api.consent_to_stream(tests.id('duo'), '198.51.100.7');
SELECT tests.clear_authentication();
SELECT is(lp.go_live_gaps(tests.id('duo'), tests.user_id('hana')), ARRAY['kai: not checked on their own shard'],
          'gate: the stub''s consent is this stream''s, taken here');
INSERT INTO lp.remote_gates (user_id, gaps) VALUES (tests.user_id('kai'), ARRAY['no approved identity verification']);
SELECT is(lp.go_live_gaps(tests.id('duo'), tests.user_id('hana')), ARRAY['kai: no approved identity verification'],
          'gate: what their own shard said');
UPDATE lp.remote_gates SET gaps = ARRAY[]::text[], checked_at = now() - interval '1 minute'
 WHERE user_id = tests.user_id('kai');
SELECT is(lp.go_live_gaps(tests.id('duo'), tests.user_id('hana')), ARRAY['kai: not checked on their own shard'],
          'gate: an answer from before they were put on this stream is none for it');
UPDATE lp.remote_gates SET gaps = ARRAY['no approved identity verification'], checked_at = now()
 WHERE user_id = tests.user_id('kai');
SELECT tests.authenticate_as('hana');
SELECT throws_ok(format('SELECT api.start_stream(%L)', tests.id('duo')), 'LP120', NULL,
                 'start_stream: refused with what their shard said (LP120)');
SELECT tests.clear_authentication();
UPDATE lp.remote_gates SET gaps = ARRAY[]::text[] WHERE user_id = tests.user_id('kai');
SELECT is(lp.go_live_gaps(tests.id('duo'), tests.user_id('hana')), ARRAY[]::text[],
          'gate: nothing lacking on their own shard: the stub''s unverified row here does not count');
SELECT tests.authenticate_as('hana');
SELECT is((api.start_stream(tests.id('duo'))).status, 'live', 'start_stream: live');
SELECT tests.clear_authentication();
UPDATE lp.remote_gates SET gaps = ARRAY['suspended, banned or blocked from streaming'] WHERE user_id = tests.user_id('kai');
SELECT is(lp.end_ungated_streams(), 1, 'the sweep ends the live stream when their shard says they may no longer appear');
SELECT results_eq($$SELECT s.end_reason, a.details -> 'gaps' FROM lp.streams AS s
                     JOIN lp.audit_logs AS a ON a.action = 'stream.end' AND a.target_id = s.id::text
                    WHERE s.id = tests.id('duo')$$,
                  $$VALUES ('go-live gate', jsonb_build_array(jsonb_build_object(
                               'user_id', tests.user_id('kai'), 'lacks', 'suspended, banned or blocked from streaming')))$$,
                  'naming who lacks what, by user id, in the audit row only (the public reason names nobody)');

SELECT ok(EXISTS (SELECT 1 FROM pg_proc AS p WHERE p.oid = 'lp.go_live_gaps(uuid, uuid)'::regprocedure
                    AND p.prosrc ~ 'lp\.performer_gaps\(' AND p.prosrc ~ 'lp\.remote_gates'),
          'catalog: the gate applies the one per-person rule (lp.performer_gaps) and the remote answers');

SELECT * FROM finish();
ROLLBACK;
