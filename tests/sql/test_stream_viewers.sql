-- Viewers and presence (issue 8, section 2): api.join_stream, api.heartbeat_stream, api.leave_stream,
-- api.count_guest, api.sweep_viewers, api.list_stream_viewers, api.block_viewer, api.unblock_viewer, and the
-- counters behind api.get_stream (current, peak, unique viewers, watch time) before and after the sweep.
BEGIN;
SELECT plan(91);

-- Shared helpers (tests/sql/helpers/*.sql): tests.create_user, tests.user_id, tests.authenticate_as,
-- tests.clear_authentication.
-- This file's helpers (SECURITY DEFINER: past RLS, whatever role is acting):
--   tests.live(host, title, visibility, start)
--                                a stream of a verified host through the API (scheduled, consented, started)
--   tests.sid(title), tests.age(username, title, seconds)
--                                the id of a stream; make a viewer's open session older (joined and last
--                                heartbeat moved back by that many seconds)
--   tests.counters(title)        current, peak, unique, joins, guests, watch seconds (sums over the rows)
--   tests.snap() / tests.rejects(sql, sqlstate, description): the call raises sqlstate and nothing changed
CREATE FUNCTION tests.sid(p_title text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT s.id FROM lp.streams AS s WHERE s.title = p_title
$$;
CREATE FUNCTION tests.live(p_host text, p_title text, p_visibility text DEFAULT 'public', p_start boolean DEFAULT true) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    PERFORM tests.authenticate_as(p_host);
    v_id := (api.schedule_stream(p_title, p_visibility => p_visibility)).id;
    PERFORM api.consent_to_stream(v_id, '203.0.113.1');
    IF p_start THEN
        PERFORM api.start_stream(v_id);
    END IF;
    PERFORM tests.clear_authentication();
    RETURN v_id;
END
$$;
CREATE FUNCTION tests.age(p_username text, p_title text, p_seconds integer) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.stream_viewers
       SET joined_at = joined_at - make_interval(secs => p_seconds),
           last_heartbeat_at = last_heartbeat_at - make_interval(secs => p_seconds)
     WHERE user_id = tests.user_id(p_username) AND stream_id = tests.sid(p_title) AND left_at IS NULL
$$;
CREATE FUNCTION tests.counters(p_title text) RETURNS TABLE (current bigint, peak integer, uniq bigint, joins numeric,
                                                          guests numeric, seconds numeric)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT sum(c.current_viewers), max(c.peak_seen), sum(c.unique_viewers), sum(c.joins), sum(c.guest_joins),
           sum(c.watch_seconds)
      FROM lp.stream_counters AS c WHERE c.stream_id = tests.sid(p_title)
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(concat_ws(',', v.id, v.stream_id, v.user_id, v.left_at), ';' ORDER BY v.id) FROM lp.stream_viewers AS v),
        (SELECT string_agg(concat_ws(',', c.stream_id, c.shard, c.current_viewers, c.peak_seen, c.unique_viewers, c.joins,
                                     c.guest_joins, c.watch_seconds), ';' ORDER BY c.stream_id, c.shard) FROM lp.stream_counters AS c),
        (SELECT string_agg(concat_ws(',', b.performer_id, b.blocked_id, b.reason), ';' ORDER BY b.performer_id, b.blocked_id)
           FROM lp.performer_blocks AS b),
        'audit ' || (SELECT count(*) FROM lp.audit_logs))
$$;

DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('sue', 'performer');    -- suspended
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('val');
    PERFORM tests.create_user('bob');                  -- banned
    PERFORM tests.create_user('mona', 'moderator');
    INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at, expires_at)
    VALUES (tests.user_id('pia'), 'identity', 'approved', 'passport', 'DE', now(), now() + interval '1 year');
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason) VALUES (tests.user_id('bob'), 'ban', 'test');
    PERFORM tests.live('pia', 'Main');
    PERFORM tests.live('pia', 'Private', 'private', false);  -- scheduled (the host has one live stream)
END
$$;
SELECT is((SELECT count(*) FROM lp.stream_counters WHERE stream_id = tests.sid('Main')), 8::bigint,
          'start_stream made streams.counter_shards (8) counter rows');

-- == join ==================================================================================================
SELECT tests.authenticate_as('vic');
SELECT results_eq(format($$SELECT stream_id, left_at, viewers FROM api.join_stream(%L, '198.51.100.1')$$, tests.sid('Main')),
                  format($$VALUES (%L::uuid, NULL::timestamptz, 1)$$, tests.sid('Main')),
                  'join_stream: vic watches; one viewer');
SELECT is((api.join_stream(tests.sid('Main'))).viewers, 1, 'join_stream: joining again is the same session (still one viewer)');
SELECT is((SELECT count(*) FROM lp.stream_viewers WHERE user_id = tests.user_id('vic')), 1::bigint, '... and no second row');
SELECT tests.authenticate_as('vera');
SELECT is((api.join_stream(tests.sid('Main'))).viewers, 2, 'join_stream: vera too: two viewers');
SELECT * FROM tests.rejects(format($$SELECT api.join_stream(%L)$$, gen_random_uuid()), 'LP003', 'join_stream: an unknown stream is LP003');
SELECT * FROM tests.rejects(format($$SELECT api.join_stream(%L)$$, tests.sid('Private')), 'LP003', 'join_stream: a private stream is not joined here (LP003)');
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 10, 'tip-private', %L)$$, tests.user_id('pia'), tests.sid('Private')), 'LP003',
                            'tip: a private stream the sender may not see is not found (LP003, not its status)');
SELECT tests.clear_authentication();
INSERT INTO lp.streams (host_id, title) VALUES (tests.user_id('sue'), 'Sue later');
SELECT tests.authenticate_as('vera');
SELECT * FROM tests.rejects(format($$SELECT api.join_stream(%L)$$, tests.sid('Sue later')), 'LP104', 'join_stream: a scheduled stream is LP104');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format($$SELECT api.join_stream(%L)$$, tests.sid('Main')), 'LP018', 'join_stream: the host is not a viewer (LP018)');
SELECT tests.authenticate_as('bob');
SELECT * FROM tests.rejects(format($$SELECT api.join_stream(%L)$$, tests.sid('Main')), 'LP022', 'join_stream: a banned user is LP022');
SELECT tests.authenticate_as(NULL);
SELECT * FROM tests.rejects(format($$SELECT api.join_stream(%L)$$, tests.sid('Main')), 'LP001', 'join_stream: nobody acting is LP001');
SELECT tests.clear_authentication();
UPDATE lp.settings SET value = '40' WHERE key = 'auth.minimum_age_years';  -- every test user (born 1990) is now too young
SELECT tests.authenticate_as('val');
SELECT * FROM tests.rejects(format($$SELECT api.join_stream(%L)$$, tests.sid('Main')), 'LP013', 'join_stream: under auth.minimum_age_years is LP013');
SELECT tests.clear_authentication();
UPDATE lp.settings SET value = '18' WHERE key = 'auth.minimum_age_years';

-- == guests ================================================================================================
SELECT tests.authenticate_as(NULL);
SELECT is(api.count_guest(tests.sid('Main')), 1, 'count_guest: a guest is counted with nobody acting');
SELECT is(api.count_guest(tests.sid('Main')), 2, 'count_guest: and another');
SELECT * FROM tests.rejects(format($$SELECT api.count_guest(%L)$$, tests.sid('Private')), 'LP003', 'count_guest: a private stream is LP003');
SELECT * FROM tests.rejects(format($$SELECT api.count_guest(%L)$$, tests.sid('Sue later')), 'LP104', 'count_guest: a stream that is not live is LP104');
SELECT tests.authenticate_as('vic');
SELECT results_eq(format($$SELECT current_viewers, peak_viewers, unique_viewers FROM api.get_stream(%L)$$, tests.sid('Main')),
                  $$VALUES (2, 2, 2)$$, 'get_stream: 2 viewers now, peak 2, 2 unique; guests are not viewers');
SELECT results_eq($$SELECT guests FROM tests.counters('Main')$$, $$VALUES (2::numeric)$$, 'the guests are counted apart (2)');
SELECT is_empty($$SELECT 1 FROM lp.stream_viewers WHERE user_id IS NULL$$, 'a guest leaves no row');

-- == heartbeat =============================================================================================
SELECT tests.clear_authentication();
SELECT tests.age('vic', 'Main', 30);
SELECT tests.authenticate_as('vic');
SELECT results_eq(format($$SELECT last_heartbeat_at = now(), viewers FROM api.heartbeat_stream(%L)$$, tests.sid('Main')),
                  $$VALUES (true, 2)$$, 'heartbeat_stream: the session is alive now; the count comes back');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.stream_viewers WHERE stream_id = tests.sid('Main')), 2::bigint, 'heartbeat_stream wrote no new row');
SELECT tests.authenticate_as('val');
SELECT * FROM tests.rejects(format($$SELECT api.heartbeat_stream(%L)$$, tests.sid('Main')), 'LP123', 'heartbeat_stream: someone not watching is LP123');
-- A session (re)opened by a transaction that started after this one (its joined_at later than our now()):
-- a heartbeat never moves last_heartbeat_at back before it (found by bench/presence.py as a CHECK violation).
SELECT tests.clear_authentication();
UPDATE lp.stream_viewers SET joined_at = now() + interval '5 seconds', last_heartbeat_at = now() + interval '5 seconds'
 WHERE user_id = tests.user_id('vic') AND left_at IS NULL;
SELECT tests.authenticate_as('vic');
SELECT is((api.heartbeat_stream(tests.sid('Main'))).last_heartbeat_at, now() + interval '5 seconds',
          'heartbeat_stream: never back before the session''s last heartbeat');
SELECT ok((api.join_stream(tests.sid('Main'))).last_heartbeat_at >= now(), 'join_stream (rejoin): neither');
SELECT tests.clear_authentication();
UPDATE lp.stream_viewers SET joined_at = now() - interval '1 second', last_heartbeat_at = now()
 WHERE user_id = tests.user_id('vic') AND left_at IS NULL;

-- == leave =================================================================================================
SELECT tests.clear_authentication();
SELECT tests.age('vera', 'Main', 60);   -- her last heartbeat 60 s ago: within the 90 s timeout
SELECT tests.authenticate_as('vera');
SELECT results_eq(format($$SELECT left_at IS NOT NULL, viewers FROM api.leave_stream(%L)$$, tests.sid('Main')),
                  $$VALUES (true, 1)$$, 'leave_stream: vera leaves; one viewer left');
SELECT * FROM tests.rejects(format($$SELECT api.leave_stream(%L)$$, tests.sid('Main')), 'LP123', 'leave_stream: leaving again is LP123');
SELECT * FROM tests.rejects(format($$SELECT api.heartbeat_stream(%L)$$, tests.sid('Main')), 'LP123', 'heartbeat_stream: after leaving is LP123');
SELECT results_eq($$SELECT current, peak, uniq, joins, seconds BETWEEN 59 AND 61 FROM tests.counters('Main')$$,
                  $$VALUES (1::bigint, 2, 2::bigint, 2::numeric, true)$$,
                  'the counters: 1 now, peak 2, 2 unique, 2 joins, vera''s 60 s of watching');
SELECT is((api.join_stream(tests.sid('Main'))).viewers, 2, 'join_stream: vera comes back');
SELECT results_eq($$SELECT uniq, joins FROM tests.counters('Main')$$, $$VALUES (2::bigint, 3::numeric)$$,
                  'a returning viewer is a join, not a new unique viewer');

-- == the timeout: sweep and lazily on read =================================================================
SELECT tests.clear_authentication();
SELECT tests.age('vic', 'Main', 600);        -- vic's player died 10 minutes ago (timeout 90 s)
SELECT tests.authenticate_as('vic');
SELECT throws_ok($$SELECT api.sweep_viewers()$$, '42501', NULL, 'sweep_viewers: not granted to the application role');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT * FROM tests.rejects($$SELECT api.sweep_viewers(0)$$, 'LP018', 'sweep_viewers: a limit of 0 is LP018');
SELECT is(api.sweep_viewers(), 1, 'sweep_viewers: vic''s stale session is closed');
SELECT is(api.sweep_viewers(), 0, 'sweep_viewers: and nothing more (vera heartbeats)');
SELECT tests.clear_authentication();
SELECT ok((SELECT left_at = last_heartbeat_at FROM lp.stream_viewers WHERE user_id = tests.user_id('vic')),
          'a timed-out session ends at its last heartbeat');
SELECT results_eq($$SELECT current FROM tests.counters('Main')$$, $$VALUES (1::bigint)$$, 'the count is right after the sweep (1)');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.heartbeat_stream(%L)$$, tests.sid('Main')), 'LP123', 'heartbeat_stream: a swept session is LP123 (join again)');
SELECT is((api.join_stream(tests.sid('Main'))).viewers, 2, 'join_stream: vic joins again');
SELECT tests.clear_authentication();
SELECT tests.age('vic', 'Main', 600);
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.list_stream_viewers(%L)$$, tests.sid('Main')), 'LP002', 'list_stream_viewers: a viewer is LP002');
SELECT * FROM tests.rejects(format($$SELECT api.list_stream_viewers(%L)$$, tests.sid('Private')), 'LP003',
                            'list_stream_viewers: a private stream a viewer may not see is LP003 (its existence is not told)');
SELECT tests.authenticate_as('pia');
SELECT results_eq(format($$SELECT username, watch_seconds >= 0 FROM api.list_stream_viewers(%L)$$, tests.sid('Main')),
                  $$VALUES ('vera', true)$$, 'list_stream_viewers: the host sees vera; vic''s stale session was closed on the way');
SELECT results_eq($$SELECT current FROM tests.counters('Main')$$, $$VALUES (1::bigint)$$, 'and the count followed (1)');
SELECT tests.authenticate_as('mona');
SELECT is((SELECT count(*) FROM api.list_stream_viewers(tests.sid('Main'))), 1::bigint, 'list_stream_viewers: staff too');
SELECT * FROM tests.rejects(format($$SELECT api.list_stream_viewers(%L)$$, gen_random_uuid()), 'LP003', 'list_stream_viewers: an unknown stream is LP003');

-- == blocks ================================================================================================
SELECT tests.authenticate_as('pia');
SELECT results_eq(format($$SELECT blocked_id, reason FROM api.block_viewer(%L, 'rude')$$, tests.user_id('vera')),
                  format($$VALUES (%L::uuid, 'rude')$$, tests.user_id('vera')), 'block_viewer: pia blocks vera');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.stream_viewers WHERE user_id = tests.user_id('vera') AND left_at IS NULL), 0::bigint,
          'block_viewer: vera is out of the stream at once');
SELECT results_eq($$SELECT current FROM tests.counters('Main')$$, $$VALUES (0::bigint)$$, 'and off the count');
SELECT tests.authenticate_as('vera');
SELECT * FROM tests.rejects(format($$SELECT api.join_stream(%L)$$, tests.sid('Main')), 'LP124', 'join_stream: a blocked user is LP124');
SELECT * FROM tests.rejects(format($$SELECT api.heartbeat_stream(%L)$$, tests.sid('Main')), 'LP123', 'heartbeat_stream: a blocked user''s session is gone (LP123)');
SELECT * FROM tests.rejects(format($$SELECT api.block_viewer(%L)$$, tests.user_id('vic')), 'LP002', 'block_viewer: a viewer cannot block (LP002)');
SELECT tests.authenticate_as('pia');
SELECT is((api.block_viewer(tests.user_id('vera'))).reason, 'rude', 'block_viewer: blocking again keeps one block and its reason');
SELECT * FROM tests.rejects(format($$SELECT api.block_viewer(%L)$$, tests.user_id('pia')), 'LP018', 'block_viewer: oneself is LP018');
SELECT * FROM tests.rejects(format($$SELECT api.block_viewer(%L)$$, gen_random_uuid()), 'LP003', 'block_viewer: an unknown user is LP003');
SELECT * FROM tests.rejects(format($$SELECT api.block_viewer(%L)$$, tests.user_id('mona')), 'LP002',
                            'block_viewer: a moderator cannot be blocked (staff watch every stream)');
-- a block made before its user became staff does not keep them out
SELECT tests.clear_authentication();
RESET ROLE;
INSERT INTO lp.performer_blocks (performer_id, blocked_id, reason) VALUES (tests.user_id('pia'), tests.user_id('mona'), 'old');
SELECT tests.authenticate_as('mona');
SELECT lives_ok(format($$SELECT api.join_stream(%L)$$, tests.sid('Main')), 'join_stream: staff join whatever the host blocked');
SELECT lives_ok(format($$SELECT api.leave_stream(%L)$$, tests.sid('Main')), 'and leave');
SELECT tests.clear_authentication();
RESET ROLE;
DELETE FROM lp.performer_blocks WHERE blocked_id = tests.user_id('mona');
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format($$SELECT api.unblock_viewer(%L)$$, tests.user_id('vera')), 'unblock_viewer: pia lifts the block');
SELECT * FROM tests.rejects(format($$SELECT api.unblock_viewer(%L)$$, tests.user_id('vera')), 'LP003', 'unblock_viewer: no block to lift is LP003');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action IN ('stream.block', 'stream.unblock')), 3::bigint,
          'block and unblock are audited');
SELECT tests.authenticate_as('vera');
SELECT is((api.join_stream(tests.sid('Main'))).viewers, 1, 'join_stream: vera may watch again');

-- == end ===================================================================================================
SELECT tests.authenticate_as('pia');
SELECT results_eq(format($$SELECT status, current_viewers, peak_viewers, unique_viewers, watch_seconds > 0 FROM api.end_stream(%L)$$, tests.sid('Main')),
                  $$VALUES ('ended', 0, 2, 3, true)$$,
                  'end_stream: the final figures: peak 2 (from the counters), 3 unique viewers (vera''s return is not new; mona watched too), watch time');
SELECT tests.authenticate_as('vera');
SELECT * FROM tests.rejects(format($$SELECT api.heartbeat_stream(%L)$$, tests.sid('Main')), 'LP123', 'heartbeat_stream: the stream ended (LP123)');
SELECT * FROM tests.rejects(format($$SELECT api.join_stream(%L)$$, tests.sid('Main')), 'LP104', 'join_stream: an ended stream is LP104');

SELECT * FROM finish();
ROLLBACK;
