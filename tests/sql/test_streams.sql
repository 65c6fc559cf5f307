-- Stream lifecycle (issue 8, section 1): api.schedule_stream, api.update_stream, api.add_stream_performer,
-- api.remove_stream_performer, api.consent_to_stream, api.start_stream (the go-live gate), api.rotate_stream_key,
-- api.check_stream_key, api.end_stream, api.get_stream. Every refusal with its SQLSTATE and nothing changed.
BEGIN;
SELECT plan(140);

-- Shared helpers (tests/sql/helpers/*.sql): tests.create_user, tests.user_id, tests.authenticate_as,
-- tests.clear_authentication, tests.wallet.
-- This file's helpers (SECURITY DEFINER: they read and write past RLS, whatever role is acting):
--   tests.fund(username, n)          n tokens from the issuance wallet
--   tests.sid(title)                 the id of the stream with that title
--   tests.snap() / tests.rejects(sql, sqlstate, description): the call raises sqlstate and nothing changed
CREATE FUNCTION tests.sid(p_title text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT s.id FROM lp.streams AS s WHERE s.title = p_title
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(concat_ws(',', s.id, s.title, s.category, s.tags, s.status, s.visibility, s.started_at,
                                     s.ended_at, s.end_reason, encode(s.stream_key_hash, 'hex'), s.unique_viewers,
                                     s.tips_count), ';' ORDER BY s.id) FROM lp.streams AS s),
        (SELECT string_agg(concat_ws(',', p.stream_id, p.performer_id), ';' ORDER BY p.stream_id, p.performer_id)
           FROM lp.stream_performers AS p),
        (SELECT string_agg(concat_ws(',', c.stream_id, c.performer_id, c.consented_at, c.ip_address), ';'
                           ORDER BY c.stream_id, c.performer_id) FROM lp.stream_consents AS c),
        (SELECT string_agg(concat_ws(',', v.id, v.left_at), ';' ORDER BY v.id) FROM lp.stream_viewers AS v),
        'audit ' || (SELECT count(*) FROM lp.audit_logs))
$$;
-- The detail of the go-live gate's refusal (NULL when the stream started).
CREATE FUNCTION tests.gate_detail(p_stream uuid) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_detail text;
BEGIN
    PERFORM api.start_stream(p_stream);
    RETURN NULL;
EXCEPTION WHEN SQLSTATE 'LP120' THEN
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
    RETURN v_detail;
END
$$;
CREATE TABLE tests.keys (name text PRIMARY KEY, stream_key text);
GRANT ALL ON tests.keys TO PUBLIC;

DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');    -- the host, verified
    PERFORM tests.create_user('paul', 'performer');   -- a co-performer, verified
    PERFORM tests.create_user('cora', 'performer', p_verified => false); -- a performer without KYC
    PERFORM tests.create_user('sue', 'performer');    -- verified, but suspended
    PERFORM tests.create_user('vic');                 -- a viewer
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.approve_kyc('pia');
    PERFORM tests.approve_kyc('paul');
    PERFORM tests.approve_kyc('sue');
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, ends_at)
    VALUES (tests.user_id('sue'), 'suspension', 'test', now() + interval '7 days');
    PERFORM tests.fund('vic', 1000);
END
$$;

-- == api.schedule_stream ===================================================================================
SELECT tests.authenticate_as('pia');
SELECT results_eq(
    $$SELECT title, category, tags, status, visibility, is_mature, host_id = tests.user_id('pia'), performers
        FROM api.schedule_stream('Morning yoga', 'fitness', ARRAY['Yoga', ' yoga ', 'stretch'])$$,
    $$VALUES ('Morning yoga', 'fitness', ARRAY['yoga', 'stretch'], 'scheduled', 'public', true, true, ARRAY[]::uuid[])$$,
    'schedule_stream: a performer schedules a public stream (tags lower-cased, trimmed, without duplicates)');
SELECT isnt((api.schedule_stream('Second show', p_scheduled_at => now() + interval '1 day')).id, NULL,
            'schedule_stream: with a start time in the future');
SELECT isnt((api.schedule_stream('Private room', p_visibility => 'private')).id, NULL, 'schedule_stream: a private stream');
SELECT * FROM tests.rejects($$SELECT api.schedule_stream('x', p_visibility => 'secret')$$, 'LP018', 'schedule_stream: an unknown visibility is LP018');
SELECT * FROM tests.rejects($$SELECT api.schedule_stream('x', 'Not A Category')$$, 'LP018', 'schedule_stream: a malformed category is LP018');
SELECT * FROM tests.rejects($$SELECT api.schedule_stream('x', p_tags => ARRAY['has space'])$$, 'LP018', 'schedule_stream: a malformed tag is LP018');
SELECT * FROM tests.rejects($$SELECT api.schedule_stream('x', p_tags => (SELECT array_agg('t' || n) FROM generate_series(1, 21) AS n))$$,
                            'LP018', 'schedule_stream: 21 tags is LP018');
SELECT * FROM tests.rejects($$SELECT api.schedule_stream('x', p_scheduled_at => now() - interval '1 hour')$$, 'LP018', 'schedule_stream: a start time in the past is LP018');
SELECT * FROM tests.rejects($$SELECT api.schedule_stream('  ')$$, 'LP018', 'schedule_stream: a blank title is LP018');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects($$SELECT api.schedule_stream('x')$$, 'LP002', 'schedule_stream: a viewer is LP002');
SELECT tests.authenticate_as('sue');
SELECT * FROM tests.rejects($$SELECT api.schedule_stream('x')$$, 'LP022', 'schedule_stream: a suspended performer is LP022');
SELECT tests.authenticate_as(NULL);
SELECT * FROM tests.rejects($$SELECT api.schedule_stream('x')$$, 'LP001', 'schedule_stream: nobody acting is LP001');

-- == api.update_stream =====================================================================================
SELECT tests.authenticate_as('pia');
SELECT results_eq(format($$SELECT title, tags, is_mature FROM api.update_stream(%L, p_title => 'Sunrise yoga', p_is_mature => false)$$,
                         tests.sid('Morning yoga')),
                  $$VALUES ('Sunrise yoga', ARRAY['yoga', 'stretch'], false)$$,
                  'update_stream: the host changes the fields given; the others stay');
SELECT * FROM tests.rejects(format($$SELECT api.update_stream(%L, p_tags => ARRAY['-bad'])$$, tests.sid('Sunrise yoga')), 'LP018',
                            'update_stream: a malformed tag is LP018');
SELECT * FROM tests.rejects(format($$SELECT api.update_stream(%L, p_title => 'x')$$, gen_random_uuid()), 'LP003', 'update_stream: an unknown stream is LP003');
SELECT tests.authenticate_as('paul');
SELECT * FROM tests.rejects(format($$SELECT api.update_stream(%L, p_title => 'mine now')$$, tests.sid('Sunrise yoga')), 'LP002',
                            'update_stream: another performer is LP002');

-- == co-performers =========================================================================================
SELECT tests.authenticate_as('pia');
SELECT is((api.add_stream_performer(tests.sid('Sunrise yoga'), tests.user_id('paul'))).performers, ARRAY[tests.user_id('paul')],
          'add_stream_performer: the host puts paul on camera');
SELECT is((api.add_stream_performer(tests.sid('Sunrise yoga'), tests.user_id('paul'))).performers, ARRAY[tests.user_id('paul')],
          'add_stream_performer: adding him again changes nothing');
SELECT is(cardinality((api.add_stream_performer(tests.sid('Sunrise yoga'), tests.user_id('cora'))).performers), 2,
          'add_stream_performer: and cora (who has no KYC yet)');
SELECT * FROM tests.rejects(format($$SELECT api.add_stream_performer(%L, %L)$$, tests.sid('Sunrise yoga'), tests.user_id('vic')), 'LP102',
                            'add_stream_performer: a viewer is LP102');
SELECT * FROM tests.rejects(format($$SELECT api.add_stream_performer(%L, %L)$$, tests.sid('Sunrise yoga'), tests.user_id('pia')), 'LP018',
                            'add_stream_performer: the host themselves is LP018');
SELECT * FROM tests.rejects(format($$SELECT api.add_stream_performer(%L, %L)$$, tests.sid('Sunrise yoga'), gen_random_uuid()), 'LP003',
                            'add_stream_performer: an unknown performer is LP003');
SELECT tests.authenticate_as('paul');
SELECT * FROM tests.rejects(format($$SELECT api.add_stream_performer(%L, %L)$$, tests.sid('Sunrise yoga'), tests.user_id('sue')), 'LP002',
                            'add_stream_performer: a co-performer is not the host (LP002)');
SELECT * FROM tests.rejects(format($$SELECT api.remove_stream_performer(%L, %L)$$, tests.sid('Sunrise yoga'), tests.user_id('cora')), 'LP002',
                            'remove_stream_performer: nor may they remove one (LP002)');

-- == consent ===============================================================================================
SELECT tests.authenticate_as('paul');
SELECT results_eq(format($$SELECT performer_id = tests.user_id('paul'), ip_address, user_agent FROM api.consent_to_stream(%L, '203.0.113.7', 'cam app 2.1')$$,
                         tests.sid('Sunrise yoga')),
                  $$VALUES (true, '203.0.113.7'::inet, 'cam app 2.1')$$,
                  'consent_to_stream: a co-performer consents, with the IP address and user agent');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action = 'stream.consent'), 1::bigint, 'consent_to_stream: audited (stream.consent)');
SELECT tests.authenticate_as('paul');
SELECT results_eq(format($$SELECT ip_address FROM api.consent_to_stream(%L, '198.51.100.1')$$, tests.sid('Sunrise yoga')),
                  $$VALUES ('203.0.113.7'::inet)$$,
                  'consent_to_stream: a second consent returns the one on record, unchanged');
SELECT * FROM tests.rejects(format($$SELECT api.consent_to_stream(%L, NULL)$$, tests.sid('Second show')), 'LP002',
                            'consent_to_stream: a performer who is not on the stream is LP002');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format($$SELECT api.consent_to_stream(%L, NULL)$$, tests.sid('Sunrise yoga')), 'LP018',
                            'consent_to_stream: without an IP address is LP018');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.consent_to_stream(%L, '203.0.113.9')$$, tests.sid('Sunrise yoga')), 'LP002',
                            'consent_to_stream: a viewer is LP002');
SELECT tests.clear_authentication();
SELECT throws_ok(format($$UPDATE lp.stream_consents SET ip_address = '192.0.2.1' WHERE stream_id = %L$$, tests.sid('Sunrise yoga')), 'LP090', NULL,
                 'a consent cannot be changed, even by the owner (append-only)');
SELECT throws_ok(format($$DELETE FROM lp.stream_consents WHERE stream_id = %L$$, tests.sid('Sunrise yoga')), 'LP090', NULL,
                 'nor deleted');

-- == the go-live gate ======================================================================================
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format($$SELECT api.start_stream(%L)$$, tests.sid('Sunrise yoga')), 'LP120',
                            'start_stream: the host has not consented and cora lacks KYC and consent: LP120');
SELECT throws_ok(format($$SELECT api.start_stream(%L)$$, tests.sid('Sunrise yoga')), 'LP120', 'the stream cannot go live',
                 'start_stream: the refusal is LP120 ...');
SELECT is(tests.gate_detail(tests.sid('Sunrise yoga')),
          'pia: no consent for this stream; cora: no approved identity verification, no consent for this stream',
          '... and its detail names who lacks what, host first');
SELECT isnt((api.consent_to_stream(tests.sid('Sunrise yoga'), '203.0.113.5')).consented_at, NULL, 'the host consents');
SELECT tests.authenticate_as('cora');
SELECT isnt((api.consent_to_stream(tests.sid('Sunrise yoga'), '203.0.113.6')).consented_at, NULL, 'cora consents');
SELECT tests.authenticate_as('pia');
SELECT is(tests.gate_detail(tests.sid('Sunrise yoga')), 'cora: no approved identity verification',
          'start_stream: still LP120 while cora has no approved verification');
SELECT tests.clear_authentication();
UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('paul');
SELECT tests.authenticate_as('pia');
SELECT is(tests.gate_detail(tests.sid('Sunrise yoga')), 'cora: no approved identity verification; paul: not an active performer',
          'start_stream: a co-performer whose account was deleted is named too (co-performers by username)');
SELECT tests.clear_authentication();
UPDATE lp.users SET deleted_at = NULL WHERE id = tests.user_id('paul');
SELECT tests.authenticate_as('pia');
SELECT is(cardinality((api.remove_stream_performer(tests.sid('Sunrise yoga'), tests.user_id('cora'))).performers), 1,
          'remove_stream_performer: the host takes cora off the stream');
SELECT * FROM tests.rejects(format($$SELECT api.remove_stream_performer(%L, %L)$$, tests.sid('Sunrise yoga'), tests.user_id('cora')), 'LP003',
                            'remove_stream_performer: someone not on the stream is LP003');
SELECT is((SELECT count(*) FROM lp.stream_consents WHERE performer_id = tests.user_id('cora')), 1::bigint,
          'cora''s consent stays on record');
SELECT tests.authenticate_as('paul');
SELECT * FROM tests.rejects(format($$SELECT api.start_stream(%L)$$, tests.sid('Sunrise yoga')), 'LP002', 'start_stream: a co-performer is not the host (LP002)');
SELECT tests.authenticate_as('pia');
INSERT INTO tests.keys SELECT 'k1', s.stream_key FROM api.start_stream(tests.sid('Sunrise yoga')) AS s;
SELECT results_eq(format($$SELECT status, started_at IS NOT NULL, ended_at FROM api.get_stream(%L)$$, tests.sid('Sunrise yoga')),
                  $$VALUES ('live', true, NULL::timestamptz)$$, 'start_stream: the stream is live');
SELECT ok((SELECT char_length(k.stream_key) = 43 FROM tests.keys AS k WHERE k.name = 'k1'), 'start_stream: a 43-character key, returned once');
SELECT tests.clear_authentication();
SELECT is((SELECT s.stream_key_hash FROM lp.streams AS s WHERE s.id = tests.sid('Sunrise yoga')),
          (SELECT sha256(convert_to(k.stream_key, 'UTF8')) FROM tests.keys AS k WHERE k.name = 'k1'),
          'only the key''s SHA-256 is stored');
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action = 'stream.start'), 1::bigint, 'start_stream: audited (stream.start)');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format($$SELECT api.start_stream(%L)$$, tests.sid('Sunrise yoga')), 'LP004', 'start_stream: a live stream is LP004');
SELECT isnt((api.consent_to_stream(tests.sid('Second show'), '203.0.113.5')).consented_at, NULL, 'the host consents to her second show');
SELECT * FROM tests.rejects(format($$SELECT api.start_stream(%L)$$, tests.sid('Second show')), 'LP121', 'start_stream: a second live stream of the host is LP121');
SELECT * FROM tests.rejects(format($$SELECT api.consent_to_stream(%L, '203.0.113.5')$$, tests.sid('Sunrise yoga')), 'LP004',
                            'consent_to_stream: a stream that is live is LP004');
SELECT * FROM tests.rejects(format($$SELECT api.add_stream_performer(%L, %L)$$, tests.sid('Sunrise yoga'), tests.user_id('cora')), 'LP004',
                            'add_stream_performer: a live stream is LP004');
SELECT * FROM tests.rejects(format($$SELECT api.update_stream(%L, p_scheduled_at => now() + interval '1 hour')$$, tests.sid('Sunrise yoga')), 'LP004',
                            'update_stream: a live stream cannot be rescheduled (LP004)');
SELECT is((api.update_stream(tests.sid('Sunrise yoga'), p_title => 'Sunrise yoga')).status, 'live', 'update_stream: a live stream''s fields can change');

-- Sue is suspended: her stream (made before the suspension, here directly) cannot start.
SELECT tests.clear_authentication();
INSERT INTO lp.streams (host_id, title) VALUES (tests.user_id('sue'), 'Sue live');
INSERT INTO lp.stream_consents (stream_id, performer_id, ip_address) VALUES (tests.sid('Sue live'), tests.user_id('sue'), '203.0.113.8');
SELECT tests.authenticate_as('sue');
SELECT * FROM tests.rejects(format($$SELECT api.start_stream(%L)$$, tests.sid('Sue live')), 'LP022', 'start_stream: a suspended host is LP022');

-- == ingest keys ===========================================================================================
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is((api.check_stream_key((SELECT k.stream_key FROM tests.keys AS k WHERE k.name = 'k1'))).id, tests.sid('Sunrise yoga'),
          'check_stream_key: the service finds the live stream of a key');
SELECT throws_ok($$SELECT api.check_stream_key('not-a-key')$$, 'LP122', NULL, 'check_stream_key: an unknown key is LP122');
SELECT throws_ok($$SELECT api.check_stream_key(NULL)$$, 'LP122', NULL, 'check_stream_key: no key is LP122');
SELECT tests.authenticate_as('pia');
SELECT throws_ok($$SELECT api.check_stream_key('x')$$, '42501', NULL, 'check_stream_key: not granted to the application role');
INSERT INTO tests.keys SELECT 'k2', s.stream_key FROM api.rotate_stream_key(tests.sid('Sunrise yoga')) AS s;
SELECT isnt((SELECT stream_key FROM tests.keys WHERE name = 'k2'), (SELECT stream_key FROM tests.keys WHERE name = 'k1'),
            'rotate_stream_key: a new key');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok(format($$SELECT api.check_stream_key(%L)$$, (SELECT stream_key FROM tests.keys WHERE name = 'k1')), 'LP122', NULL,
                 'check_stream_key: the old key stopped working');
SELECT is((api.check_stream_key((SELECT k.stream_key FROM tests.keys AS k WHERE k.name = 'k2'))).id, tests.sid('Sunrise yoga'),
          'check_stream_key: the new one works');
SELECT tests.authenticate_as('paul');
SELECT * FROM tests.rejects(format($$SELECT api.rotate_stream_key(%L)$$, tests.sid('Sunrise yoga')), 'LP002', 'rotate_stream_key: not the host is LP002');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format($$SELECT api.rotate_stream_key(%L)$$, tests.sid('Second show')), 'LP004', 'rotate_stream_key: a scheduled stream is LP004');

-- == get_stream ============================================================================================
SELECT tests.authenticate_as('vic');
SELECT is((api.get_stream(tests.sid('Sunrise yoga'))).title, 'Sunrise yoga', 'get_stream: a viewer reads a public stream');
SELECT throws_ok(format($$SELECT api.get_stream(%L)$$, tests.sid('Private room')), 'LP003', NULL, 'get_stream: a private stream is LP003 to a viewer');
SELECT throws_ok(format($$SELECT api.get_stream(%L)$$, gen_random_uuid()), 'LP003', NULL, 'get_stream: an unknown stream is LP003');
SELECT tests.authenticate_as('pia');
SELECT is((api.get_stream(tests.sid('Private room'))).visibility, 'private', 'get_stream: the host reads her private stream');
SELECT tests.authenticate_as('adam');
SELECT is((api.get_stream(tests.sid('Private room'))).visibility, 'private', 'get_stream: an admin reads it too');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format($$SELECT api.get_stream(%L)$$, tests.sid('Sunrise yoga')), 'LP001', NULL, 'get_stream: nobody acting is LP001');

-- == end_stream ============================================================================================
-- A viewer watches and tips during the stream.
SELECT tests.clear_authentication();
INSERT INTO lp.stream_viewers (stream_id, user_id, joined_at, last_heartbeat_at)
VALUES (tests.sid('Sunrise yoga'), tests.user_id('vic'), now(), now());
SELECT tests.authenticate_as('vic');
SELECT is((api.tip(tests.user_id('pia'), 50, 'stream-tip-1', tests.sid('Sunrise yoga'))).amount, 50::bigint, 'a tip in the live stream');
SELECT is((api.tip(tests.user_id('pia'), 30, 'stream-tip-2', tests.sid('Sunrise yoga'), NULL, true)).amount, 30::bigint,
          'and an anonymous one');
SELECT results_eq(format($$SELECT tip_count, tokens_tipped FROM api.stream_stats(%L)$$, tests.sid('Sunrise yoga')),
                  $$VALUES (2::bigint, NULL::bigint)$$, 'stream_stats: a viewer sees the tip count, not the host''s earnings');
SELECT results_eq(format($$SELECT rank, tipper_id, tipper_name, anonymous, tokens, tips FROM api.stream_top_tippers(%L)$$, tests.sid('Sunrise yoga')),
                  format($$VALUES (1::bigint, %L::uuid, 'vic', false, 50::bigint, 1::bigint),
                                  (2::bigint, NULL::uuid, 'anonymous', true, 30::bigint, 1::bigint)$$, tests.user_id('vic')),
                  'stream_top_tippers: named and anonymous tips ranked apart; the anonymous one without id or name');
SELECT throws_ok(format($$SELECT * FROM api.stream_top_tippers(%L, 0)$$, tests.sid('Sunrise yoga')), 'LP018', NULL, 'stream_top_tippers: a limit of 0 is LP018');
SELECT results_eq(format($$SELECT rank, tipper_name, anonymous, tokens FROM api.performer_top_tippers(%L, 'day')$$, tests.user_id('pia')),
                  $$VALUES (1::bigint, 'vic', false, 50::bigint), (2::bigint, 'anonymous', true, 30::bigint)$$,
                  'performer_top_tippers: pia''s leaderboard of the day, the anonymous entry apart and unnamed');
SELECT is((SELECT count(*) FROM api.performer_top_tippers(tests.user_id('pia'), 'all')), 2::bigint, 'performer_top_tippers: all time');
SELECT throws_ok(format($$SELECT * FROM api.performer_top_tippers(%L, 'year')$$, tests.user_id('pia')), 'LP018', NULL,
                 'performer_top_tippers: an unknown period is LP018');
SELECT throws_ok(format($$SELECT * FROM api.performer_top_tippers(%L)$$, tests.user_id('vic')), 'LP003', NULL,
                 'performer_top_tippers: someone who is not a performer is LP003');
SELECT throws_ok(format($$SELECT * FROM api.stream_top_tippers(%L)$$, tests.sid('Private room')), 'LP003', NULL, 'stream_top_tippers: a private stream is LP003 to a viewer');
SELECT tests.authenticate_as('pia');
SELECT results_eq(format($$SELECT tip_count, tokens_tipped FROM api.stream_stats(%L)$$, tests.sid('Sunrise yoga')),
                  $$VALUES (2::bigint, 80::bigint)$$, 'stream_stats: the host sees her earnings');
SELECT results_eq(format($$SELECT tipper_id FROM api.stream_top_tippers(%L) WHERE anonymous$$, tests.sid('Sunrise yoga')),
                  $$VALUES (NULL::uuid)$$, 'stream_top_tippers: the host does not see who tipped anonymously');
SELECT tests.authenticate_as('adam');
SELECT results_eq(format($$SELECT tipper_id, tipper_name FROM api.stream_top_tippers(%L) WHERE anonymous$$, tests.sid('Sunrise yoga')),
                  format($$VALUES (%L::uuid, 'vic')$$, tests.user_id('vic')), 'stream_top_tippers: an admin does');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.end_stream(%L)$$, tests.sid('Sunrise yoga')), 'LP002', 'end_stream: a viewer is LP002');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format($$SELECT api.end_stream(%L)$$, tests.sid('Sunrise yoga')), 'LP018', 'end_stream: an admin without a reason is LP018');
SELECT tests.authenticate_as('pia');
SELECT results_eq(format($$SELECT status, ended_at IS NOT NULL, unique_viewers, tips_count, tips_tokens, watch_seconds >= 0
                             FROM api.end_stream(%L, 'good night')$$, tests.sid('Sunrise yoga')),
                  $$VALUES ('ended', true, 1, 2::bigint, 80::bigint, true)$$,
                  'end_stream: the host ends it; the final statistics are written (1 viewer, 2 tips, 80 tokens)');
SELECT results_eq(format($$SELECT tip_count, tokens_tipped FROM api.stream_stats(%L)$$, tests.sid('Sunrise yoga')),
                  $$VALUES (2::bigint, 80::bigint)$$, 'stream_stats: an ended stream''s tips from its final statistics');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.stream_viewers WHERE stream_id = tests.sid('Sunrise yoga') AND left_at IS NULL), 0::bigint,
          'end_stream: every open viewing session is closed');
SELECT is((SELECT s.stream_key_hash FROM lp.streams AS s WHERE s.id = tests.sid('Sunrise yoga')), NULL, 'end_stream: the key is gone');
SELECT results_eq($$SELECT details ->> 'reason', details ->> 'by' FROM lp.audit_logs WHERE action = 'stream.end'$$,
                  $$VALUES ('good night', 'host')$$, 'end_stream: audited (stream.end) with the reason and who ended it');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok(format($$SELECT api.check_stream_key(%L)$$, (SELECT stream_key FROM tests.keys WHERE name = 'k2')), 'LP122', NULL,
                 'check_stream_key: the key of an ended stream is LP122');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format($$SELECT api.end_stream(%L)$$, tests.sid('Sunrise yoga')), 'LP004', 'end_stream: an ended stream is LP004');
SELECT * FROM tests.rejects(format($$SELECT api.update_stream(%L, p_title => 'again')$$, tests.sid('Sunrise yoga')), 'LP004',
                            'update_stream: an ended stream is LP004');
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 10, 'late-tip', %L)$$, tests.user_id('pia'), tests.sid('Sunrise yoga')), 'LP101',
                            'tip: the host cannot tip herself (checked before the stream)');
-- Now the second show can go live; an admin ends it with a reason.
INSERT INTO tests.keys SELECT 'k3', s.stream_key FROM api.start_stream(tests.sid('Second show')) AS s;
SELECT is((api.get_stream(tests.sid('Second show'))).status, 'live', 'start_stream: the host''s next stream goes live once the first ended');
SELECT tests.authenticate_as('adam');
SELECT results_eq(format($$SELECT status, end_reason FROM api.end_stream(%L, 'terms of service')$$, tests.sid('Second show')),
                  $$VALUES ('ended', 'terms of service')$$, 'end_stream: an admin ends someone''s stream with a reason');
SELECT tests.clear_authentication();
SELECT is((SELECT details ->> 'by' FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = tests.sid('Second show')::text), 'admin',
          'end_stream: the admin''s ending is audited as such');
SELECT tests.authenticate_as('pia');
SELECT results_eq(format($$SELECT status, started_at, ended_at FROM api.end_stream(%L)$$, tests.sid('Private room')),
                  $$VALUES ('cancelled', NULL::timestamptz, NULL::timestamptz)$$, 'end_stream: a scheduled stream is cancelled');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 10, 'late-tip', %L)$$, tests.user_id('pia'), tests.sid('Sunrise yoga')), 'LP104',
                            'tip: naming an ended stream is LP104');
SELECT tests.clear_authentication();
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean');

-- == Neither a key nor its hash is audited (docs/streams.md, "Stream keys"), nor a session token ==============
-- Every ingest key this file was given (start_stream twice, rotate_stream_key once) and a login's session token:
-- none of them, nor its SHA-256 in hex, base64 or base64url (as lp.hash_token stores it, encoded), appears in
-- any audit row (details, target, anything) or any stream event's payload.
SELECT tests.authenticate_as(NULL);
INSERT INTO tests.keys SELECT 'vic session', l.token FROM api.login('vic', tests.password()) AS l;
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE char_length(stream_key) = 43) FROM tests.keys$$,
                  $$VALUES (4::bigint, 4::bigint)$$, 'three ingest keys and a session token to look for');
SELECT results_eq($$SELECT action, count(*) FROM lp.audit_logs
                     WHERE action IN ('stream.start', 'stream.rotate_key', 'auth.login') GROUP BY action ORDER BY action$$,
                  $$VALUES ('auth.login', 1::bigint), ('stream.rotate_key', 1::bigint), ('stream.start', 2::bigint)$$,
                  'their issuing was audited (the rows looked into exist)');
SELECT is_empty($$
    WITH forms AS (
        SELECT k.name, f.form, f.value
          FROM tests.keys AS k
         CROSS JOIN LATERAL (SELECT lp.hash_token(k.stream_key) AS h) AS d
         CROSS JOIN LATERAL (VALUES ('raw', k.stream_key),
                                    ('sha256 hex', encode(d.h, 'hex')),
                                    ('sha256 base64', encode(d.h, 'base64')),
                                    ('sha256 base64url', translate(rtrim(encode(d.h, 'base64'), '='), '+/', '-_'))
                            ) AS f (form, value))
    SELECT f.name, f.form, 'audit ' || a.action FROM forms AS f
      JOIN lp.audit_logs AS a ON strpos(lower(to_jsonb(a)::text), lower(f.value)) > 0
    UNION ALL
    SELECT f.name, f.form, 'event ' || e.kind FROM forms AS f
      JOIN lp.stream_events AS e ON strpos(lower(e.payload::text), lower(f.value)) > 0
$$, 'no ingest key or session token, nor its SHA-256 (hex, base64, base64url), in any audit row or stream event');

SELECT * FROM finish();
ROLLBACK;
