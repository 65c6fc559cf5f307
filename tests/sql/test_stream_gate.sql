-- The go-live gate holds while a stream is live, and the smaller rules around a live stream (review of issue 8):
-- a ban, a suspension, a role change or a deletion of anyone on camera ends the stream at once; an identity
-- verification that expires ends it at the next viewer sweep (and the ingest check refuses the key before); the
-- public reason names nobody and tells no one's sanction, verification or role ('go-live gate'; a deletion says
-- 'account deleted'): who and why is for staff, in the audit row, by user id;
-- a warning ends nothing. A user a performer blocked cannot pay them (tip, hold, tip_many). A stream's tokens
-- tipped are the host's (and admins') to see. Event positions out of range are LP018; a reader that resyncs after
-- a purge is never sent back behind the horizon. A listing's tag is matched as streams store it.
BEGIN;
SELECT plan(60);

-- Helpers of this file (SECURITY DEFINER: past RLS, whatever role acts):
--   tests.live(host, title[, co-performer])  schedules, consents and starts a stream; returns its id
--   tests.status(stream)                     'status|by|reason' of the stream (by: from its stream_ended event)
CREATE FUNCTION tests.live(p_host text, p_title text, p_co text DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_stream uuid;
BEGIN
    PERFORM tests.authenticate_as(p_host);
    v_stream := (api.schedule_stream(p_title, p_tags => ARRAY['duo', 'night'])).id;
    IF p_co IS NOT NULL THEN
        PERFORM api.add_stream_performer(v_stream, tests.user_id(p_co));
        PERFORM tests.authenticate_as(p_co);
        PERFORM api.consent_to_stream(v_stream, '198.51.100.2');
        PERFORM tests.authenticate_as(p_host);
    END IF;
    PERFORM api.consent_to_stream(v_stream, '203.0.113.1');
    PERFORM tests.put(p_title, jsonb_build_object('key', (api.start_stream(v_stream)).stream_key));
    PERFORM tests.clear_authentication();
    RETURN v_stream;
END
$$;
CREATE FUNCTION tests.status(p_stream uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws('|', s.status,
                     (SELECT e.payload ->> 'by' FROM lp.stream_events AS e
                       WHERE e.stream_id = s.id AND e.kind = 'stream_ended'),
                     s.end_reason)
      FROM lp.streams AS s WHERE s.id = p_stream
$$;
CREATE FUNCTION tests.open_sessions(p_stream uuid) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.stream_viewers AS v WHERE v.stream_id = p_stream AND v.left_at IS NULL
$$;
CREATE FUNCTION tests.money_state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws('/', (SELECT count(*) FROM lp.tips), (SELECT count(*) FROM lp.holds), (SELECT count(*) FROM lp.ledger),
                     (SELECT sum(w.balance) || ',' || sum(w.reserved) FROM lp.wallets AS w))
$$;

DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('paul', 'performer');
    PERFORM tests.create_user('rita', 'performer');
    PERFORM tests.create_user('dora', 'performer');
    PERFORM tests.create_user('ella', 'performer');
    PERFORM tests.create_user('walt', 'performer');
    PERFORM tests.create_user('hana', 'performer');
    PERFORM tests.create_user('kim', 'performer');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('bob');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.approve_kyc(u) FROM unnest(ARRAY['pia', 'paul', 'rita', 'dora', 'ella', 'walt', 'hana', 'kim']) AS u;
    PERFORM lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                    ARRAY[ROW(lp.system_wallet('issuance'), -2000, 'purchase', 0, false)::lp.posting,
                          ROW(tests.wallet('vic'), 1000, 'purchase', 0, false)::lp.posting,
                          ROW(tests.wallet('bob'), 1000, 'purchase', 0, false)::lp.posting]);
    PERFORM tests.put('bob', api.login('bob', tests.password()));
END
$$;

-- == a ban ends the host's live stream now, and closes its viewing sessions =================================
SELECT tests.remember('s1', tests.live('pia', 'Banned soon'));
SELECT tests.authenticate_as('vic');
SELECT is((api.join_stream(tests.id('s1'))).stream_id, tests.id('s1'), 'vic watches the stream');
SELECT tests.authenticate_as('mona');
SELECT is((api.sanction_user(tests.user_id('pia'), 'ban', 'underage content')).sanction_type::text, 'ban', 'a moderator bans the host');
SELECT tests.clear_authentication();
SELECT is(tests.status(tests.id('s1')), 'ended|gate|go-live gate',
          'the ban ended the live stream (its event and reason say only that the gate did)');
SELECT is(tests.open_sessions(tests.id('s1')), 0::bigint, 'and closed every viewing session');
SELECT is((SELECT details ->> 'by' FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = tests.id('s1')::text),
          'gate', 'the ending is audited (stream.end, by gate)');
SELECT is((SELECT details -> 'gaps' FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = tests.id('s1')::text),
          jsonb_build_array(jsonb_build_object('user_id', tests.user_id('pia'), 'lacks', 'performer ban')),
          'the audit row (staff only) says who was banned, by user id');
SELECT is((SELECT (details ->> 'streams_ended')::integer FROM lp.audit_logs WHERE action = 'sanction.issue'), 1,
          'the sanction''s audit row counts the streams it ended');
SELECT ok((SELECT stream_key_hash IS NULL FROM lp.streams WHERE id = tests.id('s1')), 'the ingest key is gone');

-- == a suspension of a co-performer ends the stream they are in ===============================================
SELECT tests.remember('s2', tests.live('rita', 'Duo', 'paul'));
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format($$SELECT api.sanction_user(%L, 'suspension', 'cool off', now() + interval '1 day')$$, tests.user_id('paul')),
                'an admin suspends the co-performer');
SELECT tests.clear_authentication();
SELECT is(tests.status(tests.id('s2')), 'ended|gate|go-live gate',
          'the co-performer''s suspension ended the stream, without telling viewers');
SELECT is((SELECT details -> 'gaps' FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = tests.id('s2')::text),
          jsonb_build_array(jsonb_build_object('user_id', tests.user_id('paul'), 'lacks', 'performer suspension')),
          'the audit row names the suspended co-performer by id');

-- == a warning ends nothing ===================================================================================
SELECT tests.remember('s3', tests.live('dora', 'Warned'));
SELECT tests.authenticate_as('mona');
SELECT lives_ok(format($$SELECT api.sanction_user(%L, 'warning', 'language')$$, tests.user_id('dora')), 'a warning');
SELECT tests.clear_authentication();
SELECT is(tests.status(tests.id('s3')), 'live', 'a warning leaves the stream live');

-- == a role change away from performer ends the stream ========================================================
SELECT tests.authenticate_as('adam');
SELECT is((api.set_user_role(tests.user_id('dora'), 'viewer')).role::text, 'viewer', 'an admin makes the host a viewer');
SELECT tests.clear_authentication();
SELECT is(tests.status(tests.id('s3')), 'ended|gate|go-live gate', 'the role change ended the stream');
SELECT is((SELECT details -> 'gaps' FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = tests.id('s3')::text),
          jsonb_build_array(jsonb_build_object('user_id', tests.user_id('dora'), 'lacks', 'performer became viewer')),
          'the audit row says whose role changed');

-- == a deleted host's stream ends ============================================================================
SELECT tests.remember('s4', tests.live('ella', 'Deleted soon'));
SELECT tests.login_as('ella');  -- a user's own deletion wants a recent login
SELECT ok((api.delete_user()).deleted_at IS NOT NULL, 'the host deletes her account');
SELECT tests.clear_authentication();
SELECT is(tests.status(tests.id('s4')), 'ended|gate|account deleted', 'the deletion ended the stream');

-- == an identity verification that expires: the ingest check refuses, the sweep ends the stream ===============
SELECT tests.remember('s5', tests.live('walt', 'Expiring'));
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is((api.check_stream_key(tests.get('Expiring', 'key'))).id, tests.id('s5'), 'check_stream_key: a valid key');
SELECT tests.clear_authentication();
UPDATE lp.kyc_verifications SET expires_at = now() - interval '1 second' WHERE user_id = tests.user_id('walt');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok(format($$SELECT api.check_stream_key(%L)$$, tests.get('Expiring', 'key')), 'LP120',
                 'the stream may no longer be live', 'check_stream_key: LP120 once the host''s verification expired');
SELECT is(tests.status(tests.id('s5')), 'live', 'the check changes nothing (still live until the sweep)');
SELECT lives_ok($$SELECT api.sweep_viewers()$$, 'the viewer sweep runs');
SELECT tests.clear_authentication();
SELECT is(tests.status(tests.id('s5')), 'ended|gate|go-live gate',
          'the sweep ended the stream; its public reason says the gate did, and names nobody');
SELECT is((SELECT details -> 'gaps' FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = tests.id('s5')::text),
          jsonb_build_array(jsonb_build_object('user_id', tests.user_id('walt'),
                                               'lacks', 'identity verification expired: re-verification needed')),
          'the audit row (staff only) says who lacks what, by user id');
-- A co-performer's verification expires: what any signed-in viewer reads of the public stream (its row, its
-- events) does not tell them whose verification (or sanction) failed; nothing holds her username.
SELECT tests.remember('s8', tests.live('hana', 'Duo expiring', 'kim'));
UPDATE lp.kyc_verifications SET expires_at = now() - interval '1 second' WHERE user_id = tests.user_id('kim');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok($$SELECT api.sweep_viewers()$$, 'the sweep runs after the co-performer''s verification expired');
SELECT tests.authenticate_as('vic');
SELECT is((SELECT status::text || '|' || end_reason FROM lp.streams WHERE id = tests.id('s8')), 'ended|go-live gate',
          'a viewer reads the stream ended by the gate, not whose verification failed');
SELECT tests.clear_authentication();
SELECT is((SELECT payload ->> 'reason' FROM lp.stream_events WHERE stream_id = tests.id('s8') AND kind = 'stream_ended'),
          'go-live gate', 'nor in its stream_ended event (which api.stream_events serves)');
SELECT is((SELECT details -> 'gaps' FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = tests.id('s8')::text),
          jsonb_build_array(jsonb_build_object('user_id', tests.user_id('kim'),
                                               'lacks', 'identity verification expired: re-verification needed')),
          'the audit row names the co-performer by id');
SELECT is_empty(format($$SELECT 1 FROM lp.streams AS s WHERE s.id = %1$L AND strpos(s.end_reason, 'kim') > 0
                         UNION ALL SELECT 1 FROM lp.stream_events AS e WHERE e.stream_id = %1$L AND strpos(e.payload::text, 'kim') > 0
                         UNION ALL SELECT 1 FROM lp.audit_logs AS a WHERE a.action = 'stream.end' AND a.target_id = %1$L::text
                                                                 AND strpos(a.details::text, 'kim') > 0$$, tests.id('s8')),
                'her username is in none of them (an erasure could not reach it there)');
-- A stream whose cast still passes is left alone by the sweep.
SELECT tests.remember('s6', tests.live('rita', 'Still fine'));
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok($$SELECT api.sweep_viewers()$$, 'the sweep again');
SELECT tests.clear_authentication();
SELECT is(tests.status(tests.id('s6')), 'live', 'a stream whose cast passes the gate stays live');

-- == a blocked user cannot pay the performer who blocked them ===============================================
SELECT tests.authenticate_as('bob');
SELECT is((api.join_stream(tests.id('s6'))).stream_id, tests.id('s6'), 'bob watches rita''s stream');
SELECT tests.authenticate_as('rita');
SELECT is((api.block_viewer(tests.user_id('bob'))).blocked_id, tests.user_id('bob'), 'rita blocks bob');
SELECT tests.clear_authentication();
SELECT results_eq(format($$SELECT payload FROM lp.stream_events WHERE stream_id = %L AND kind = 'moderation'$$, tests.id('s6')),
                  $$VALUES ('{"action": "viewer_removed"}'::jsonb)$$,
                  'block_viewer: a moderation event for the stream he was removed from, without his name');
SELECT is(tests.open_sessions(tests.id('s6')), 0::bigint, 'and his session is closed');
SELECT tests.authenticate_as('bob');
SELECT tests.put('before', jsonb_build_object('text', tests.money_state()));
SELECT throws_ok(format($$SELECT api.tip(%L, 10, 'b-1', %L)$$, tests.user_id('rita'), tests.id('s6')), 'LP124',
                 'the performer has blocked this user', 'tip into her stream: LP124');
SELECT throws_ok(format($$SELECT api.tip(%L, 10, 'b-2')$$, tests.user_id('rita')), 'LP124', NULL, 'tip outside a stream: LP124');
SELECT throws_ok(format($$SELECT api.place_hold(%L, 10, 'b-3')$$, tests.user_id('rita')), 'LP124', NULL, 'place_hold: LP124');
SELECT tests.clear_authentication();
SELECT results_eq(format($$SELECT error_code, error_message FROM api.tip_many(jsonb_build_array(jsonb_build_object(
                      'session_token', %L, 'recipient_id', %L, 'amount', 10, 'idempotency_key', 'b-4', 'stream_id', %L)))$$,
                      tests.get('bob', 'token'), tests.user_id('rita'), tests.id('s6')),
                  $$VALUES ('LP124', 'the performer has blocked this user')$$, 'tip_many: LP124 with the same message');
SELECT is(tests.money_state(), tests.get('before', 'text'), 'the refused payments changed nothing');
SELECT tests.authenticate_as('vic');
SELECT isnt((api.tip(tests.user_id('rita'), 10, 'v-1', tests.id('s6'))).id, NULL, 'vic, not blocked, tips in the stream');
SELECT tests.authenticate_as('rita');
SELECT lives_ok(format($$SELECT api.unblock_viewer(%L)$$, tests.user_id('bob')), 'rita unblocks bob');
SELECT tests.authenticate_as('bob');
SELECT isnt((api.tip(tests.user_id('rita'), 10, 'b-6', tests.id('s6'))).id, NULL, 'once unblocked, bob tips again');

-- == tokens tipped are the host's to see ======================================================================
SELECT tests.authenticate_as('rita');
SELECT is((api.end_stream(tests.id('s6'))).tips_tokens, 20::bigint, 'end_stream: the host sees her tokens tipped');
SELECT is((api.get_stream(tests.id('s6'))).tips_tokens, 20::bigint, 'get_stream: the host sees them');
SELECT tests.authenticate_as('vic');
SELECT is((api.get_stream(tests.id('s6'))).tips_tokens, NULL, 'get_stream: a viewer does not');
SELECT is((api.get_stream(tests.id('s6'))).tips_count, 2::bigint, 'get_stream: the count of tips is public');
SELECT throws_ok($$SELECT tips_tokens FROM lp.streams$$, '42501', NULL, 'the column is not granted to the application login');
SELECT lives_ok($$SELECT id, tips_count FROM lp.streams$$, 'the other columns are');
SELECT tests.authenticate_as('mona');
SELECT is((api.get_stream(tests.id('s6'))).tips_tokens, NULL, 'get_stream: a moderator does not');
SELECT tests.authenticate_as('adam');
SELECT is((api.get_stream(tests.id('s6'))).tips_tokens, 20::bigint, 'get_stream: an admin does');

-- == event positions ==========================================================================================
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format($$SELECT * FROM api.stream_events(%L, '99999999999999999999/1')$$, tests.id('s6')), 'LP018', NULL,
                 'stream_events: a transaction id beyond xid8 is LP018');
SELECT throws_ok(format($$SELECT * FROM api.stream_events(%L, '1/9999999999999999999')$$, tests.id('s6')), 'LP018', NULL,
                 'stream_events: an event id beyond bigint is LP018');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok($$SELECT api.wake_stream_listeners('99999999999999999999/1')$$, 'LP018', NULL,
                 'wake_stream_listeners: out of range is LP018');
SELECT tests.clear_authentication();
-- A purge horizon with an older-positioned event left behind it (the purge goes by age): reading from the start
-- begins at the horizon, and reading on from what it returned never raises LP125.
UPDATE lp.stream_events SET tx = '100'::xid8 WHERE stream_id = tests.id('s6');
INSERT INTO lp.stream_event_horizons (stream_id, tx, id)
SELECT e.stream_id, e.tx, e.id FROM lp.stream_events AS e WHERE e.stream_id = tests.id('s6') ORDER BY e.id LIMIT 1 OFFSET 1;
SELECT tests.put('events', jsonb_build_object('n', (SELECT count(*) FROM lp.stream_events WHERE stream_id = tests.id('s6'))));
SELECT tests.authenticate_as('vic');
SELECT is((SELECT count(*) FROM api.stream_events(tests.id('s6'))),
          tests.get('events', 'n')::bigint - 2,
          'from the start: only the events after the horizon (those at or behind it are not served)');
SELECT is((SELECT count(*) FROM api.stream_events(tests.id('s6'),
                 (SELECT max(position) COLLATE "C" FROM api.stream_events(tests.id('s6'), NULL, 1)))),
          tests.get('events', 'n')::bigint - 3,
          'reading on from the first position served: no LP125');
SELECT throws_ok(format($$SELECT * FROM api.stream_events(%L, '100/1')$$, tests.id('s6')), 'LP125', NULL,
                 'a position behind the horizon is still LP125');

-- == a listing's tag as streams store it =====================================================================
SELECT tests.remember('s7', tests.live('rita', 'Tagged'));
SELECT tests.authenticate_as('vic');
SELECT results_eq($$SELECT title FROM api.list_live_streams(p_tag => ' Duo ')$$, $$VALUES ('Tagged')$$,
                  'list_live_streams: '' Duo '' finds the stream tagged duo');
SELECT is_empty($$SELECT title FROM api.list_live_streams(p_tag => 'solo')$$, 'and another tag finds nothing');
SELECT tests.clear_authentication();
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean');

SELECT * FROM finish();
ROLLBACK;
