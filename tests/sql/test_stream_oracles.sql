-- A stream the acting user may not see (lp.stream_visible: not public, and they neither host it, perform in it
-- nor are staff) is answered as a stream id that does not exist: LP003, whatever the operation, never LP002
-- (not the host), LP004 (its status) or LP104 (not the payee's live stream), and never done. The stream
-- transitions (lp.lock_stream: start, update, add and remove a co-performer, consent, add a goal, end, rotate
-- the key, offer a show) and api.place_hold naming a stream. Who may see the stream still gets LP002 / LP004.
-- A performer's leaderboard (api.performer_top_tippers) counts, for each reader, the tips of the streams whose
-- own leaderboard (api.stream_top_tippers) they may read, and the tips naming no stream: a private stream's
-- tippers are not told to an outsider through the performer's board; the performer and staff get every tip.
-- A deleted stream (lp.streams.deleted_at: "hidden from everyone but moderators and admins", lp.stream_visible)
-- is gone for the board too: its tips are counted for staff only, not for viewers, other performers, nor the
-- performer who hosted it (its own leaderboard is LP003 to all of them).
BEGIN;
SELECT plan(35);

-- Shared helpers (tests/sql/helpers/*.sql): tests.create_user, tests.user_id, tests.authenticate_as,
-- tests.clear_authentication, tests.remember / tests.id, tests.wallet, tests.approve_kyc.

-- Helpers of this file.
--   tests.fund(username, n)   credits n tokens from the issuance wallet
--   tests.code(sql)           'ok' when the statement succeeds, else its SQLSTATE; either way nothing it did
--                             stays (its subtransaction is rolled back)
--   tests.live(host, title, visibility)
--                             the host schedules a stream, consents and takes it live; its id
--   tests.tip(sender, stream name or NULL, amount, anonymous)
--                             the sender tips pia, naming the stream (tests.id) or none
CREATE FUNCTION tests.code(p_sql text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_ok boolean := false;
BEGIN
    BEGIN
        EXECUTE p_sql;
        v_ok := true;
        RAISE EXCEPTION USING ERRCODE = 'TT000';  -- undo it
    EXCEPTION WHEN OTHERS THEN
        RETURN CASE WHEN v_ok THEN 'ok' ELSE SQLSTATE END;
    END;
END
$$;
CREATE FUNCTION tests.live(p_host text, p_title text, p_visibility text) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_stream uuid;
BEGIN
    PERFORM tests.authenticate_as(p_host);
    v_stream := (api.schedule_stream(p_title, p_visibility => p_visibility)).id;
    PERFORM api.consent_to_stream(v_stream, '203.0.113.1');
    PERFORM api.start_stream(v_stream);
    PERFORM tests.clear_authentication();
    RETURN v_stream;
END
$$;
CREATE FUNCTION tests.tip(p_sender text, p_stream text, p_amount bigint, p_anonymous boolean) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tests.authenticate_as(p_sender);
    PERFORM api.tip(tests.user_id('pia'), p_amount, gen_random_uuid()::text, tests.id(p_stream), NULL, p_anonymous);
    PERFORM tests.clear_authentication();
END
$$;

DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');    -- the host of every stream here
    PERFORM tests.create_user('cora', 'performer');   -- pia's co-performer on 'sched' (may see it)
    PERFORM tests.create_user('paul', 'performer');   -- another performer: an outsider
    PERFORM tests.create_user('vera');                -- a viewer: an outsider
    PERFORM tests.create_user('mona', 'moderator');   -- staff
    PERFORM tests.create_user('adam', 'admin');       -- staff
    PERFORM tests.create_user('wes');                 -- tipped in a stream made private later
    PERFORM tests.create_user('xan');                 -- tipped anonymously in it
    PERFORM tests.create_user('yuri');                -- tipped pia naming no stream
    PERFORM tests.create_user('zed');                 -- tipped in a public stream deleted later
    PERFORM tests.approve_kyc('pia');
    PERFORM tests.fund(u, 1000) FROM unnest(ARRAY['vera', 'mona', 'wes', 'xan', 'yuri', 'zed']) AS u;

    -- pia's tips: vera in a public stream, wes and xan (anonymously) in one pia made private while live, mona
    -- (staff may see it) in a private one, yuri naming no stream.
    PERFORM tests.remember('pub', tests.live('pia', 'pia public', 'public'));
    PERFORM tests.tip('vera', 'pub', 100, false);
    PERFORM tests.authenticate_as('pia');
    PERFORM api.end_stream(tests.id('pub'));
    PERFORM tests.remember('hidden', tests.live('pia', 'pia public then private', 'public'));
    PERFORM tests.tip('wes', 'hidden', 500, false);
    PERFORM tests.tip('xan', 'hidden', 300, true);
    PERFORM tests.authenticate_as('pia');
    PERFORM api.update_stream(tests.id('hidden'), p_visibility => 'private');
    PERFORM api.end_stream(tests.id('hidden'));
    PERFORM tests.remember('ended', tests.live('pia', 'pia private ended', 'private'));
    PERFORM tests.tip('mona', 'ended', 50, false);
    PERFORM tests.authenticate_as('pia');
    PERFORM api.end_stream(tests.id('ended'));
    PERFORM tests.tip('yuri', NULL, 20, false);
    -- zed in a public stream of pia's, ended and then marked deleted (no API function sets deleted_at: the
    -- superuser does, as in test_deleted_streams.sql)
    PERFORM tests.remember('gone', tests.live('pia', 'pia public then deleted', 'public'));
    PERFORM tests.tip('zed', 'gone', 200, false);
    PERFORM tests.authenticate_as('pia');
    PERFORM api.end_stream(tests.id('gone'));
    PERFORM tests.clear_authentication();
    UPDATE lp.streams SET deleted_at = now() WHERE id = tests.id('gone');

    -- pia's private streams: one live, one scheduled with cora on it; paul's public one, scheduled.
    PERFORM tests.remember('live', tests.live('pia', 'pia private live', 'private'));
    PERFORM tests.authenticate_as('pia');
    PERFORM tests.remember('sched', (api.schedule_stream('pia private scheduled', p_visibility => 'private')).id);
    PERFORM api.add_stream_performer(tests.id('sched'), tests.user_id('cora'));
    PERFORM tests.authenticate_as('paul');
    PERFORM tests.remember('paul', (api.schedule_stream('paul public')).id);
    PERFORM tests.clear_authentication();
END
$$;

-- == a private stream is "not found" to who may not see it ===================================================
SELECT tests.authenticate_as('paul');  -- a performer, neither host nor co-performer, not staff
SELECT is(tests.code(format('SELECT api.start_stream(%L)', tests.id('sched'))), 'LP003',
          'start_stream: another performer''s private stream is LP003 (not LP002: its existence is not told)');
SELECT is(tests.code(format('SELECT api.start_stream(%L)', tests.id('live'))), 'LP003',
          'start_stream: a private stream live already is LP003 too (not LP002)');
SELECT is(tests.code(format($$SELECT api.update_stream(%L, 'mine now')$$, tests.id('sched'))), 'LP003',
          'update_stream: a private stream the caller may not see is LP003');
SELECT is(tests.code(format('SELECT api.add_stream_performer(%L, %L)', tests.id('sched'), tests.user_id('paul'))), 'LP003',
          'add_stream_performer: a private stream the caller may not see is LP003');
SELECT is(tests.code(format('SELECT api.remove_stream_performer(%L, %L)', tests.id('sched'), tests.user_id('cora'))), 'LP003',
          'remove_stream_performer: a private stream the caller may not see is LP003');
SELECT is(tests.code(format($$SELECT api.consent_to_stream(%L, '203.0.113.9')$$, tests.id('sched'))), 'LP003',
          'consent_to_stream: a private stream the caller is not on is LP003 (not LP002)');
SELECT is(tests.code(format($$SELECT api.consent_to_stream(%L, '203.0.113.9')$$, tests.id('live'))), 'LP003',
          'consent_to_stream: a live private stream the caller is not on is LP003 (not LP004: its status is not told)');
SELECT is(tests.code(format($$SELECT api.add_tip_goal(%L, 100, 'my goal')$$, tests.id('sched'))), 'LP003',
          'add_tip_goal: a private stream the caller may not see is LP003');
SELECT is(tests.code(format('SELECT api.end_stream(%L)', tests.id('sched'))), 'LP003',
          'end_stream: a private stream the caller may not see is LP003');
SELECT is(tests.code(format('SELECT api.rotate_stream_key(%L)', tests.id('live'))), 'LP003',
          'rotate_stream_key: a private stream the caller may not see is LP003');
SELECT is(tests.code(format($$SELECT api.offer_show(%L, 'group')$$, tests.id('live'))), 'LP003',
          'offer_show: a private stream the caller may not see is LP003');
SELECT is(tests.code(format('SELECT * FROM api.stream_shows(%L)', tests.id('sched'))), 'LP003',
          'stream_shows: a private stream the caller may not see is LP003');
SELECT tests.authenticate_as('cora');  -- a co-performer of the private scheduled stream: she may see it
SELECT is(tests.code(format('SELECT * FROM api.stream_shows(%L)', tests.id('sched'))), 'ok',
          'stream_shows: a co-performer reads her private stream''s shows (lp.stream_visible''s rule, not LP003)');
SELECT tests.authenticate_as('vera');  -- a viewer
SELECT is(tests.code(format('SELECT api.end_stream(%L)', tests.id('live'))), 'LP003',
          'end_stream: a viewer ending a live private stream gets LP003 (not LP002)');
SELECT is(tests.code(format('SELECT api.end_stream(%L)', tests.id('ended'))), 'LP003',
          'end_stream: a viewer ending an ended private stream gets LP003 (not LP004)');
SELECT is(tests.code(format($$SELECT api.place_hold(%L, 10, 'h-live', 'private_show', NULL, %L)$$,
                            tests.user_id('pia'), tests.id('live'))), 'LP003',
          'place_hold: naming the payee''s live private stream the holder may not see is LP003 (no hold placed)');
SELECT is(tests.code(format($$SELECT api.place_hold(%L, 10, 'h-sched', 'private_show', NULL, %L)$$,
                            tests.user_id('pia'), tests.id('sched'))), 'LP003',
          'place_hold: naming a scheduled private stream the holder may not see is LP003 (not LP104)');

-- who may see the stream is still told why (controls: these held before the fix too)
SELECT is(tests.code(format('SELECT api.end_stream(%L)', tests.id('paul'))), 'LP002',
          'control: end_stream of a public stream by a viewer is still LP002');
SELECT tests.authenticate_as('cora');
SELECT is(tests.code(format('SELECT api.start_stream(%L)', tests.id('sched'))), 'LP002',
          'control: the co-performer (who may see the stream) starting it is still LP002');
SELECT is(tests.code(format($$SELECT api.consent_to_stream(%L, '203.0.113.7')$$, tests.id('sched'))), 'ok',
          'control: the co-performer consents to the private stream');
SELECT tests.authenticate_as('mona');
SELECT is(tests.code(format('SELECT api.end_stream(%L)', tests.id('live'))), 'LP002',
          'control: a moderator (staff see it) ending a private stream is still LP002');
SELECT tests.authenticate_as('adam');
SELECT is(tests.code(format($$SELECT api.end_stream(%L, 'again')$$, tests.id('ended'))), 'LP004',
          'control: an admin ending an ended private stream is still LP004');
SELECT tests.authenticate_as('pia');
SELECT is(tests.code(format($$SELECT api.update_stream(%L, 'new title')$$, tests.id('sched'))), 'ok',
          'control: the host updates her private stream');

-- == a performer's leaderboard: tips of streams the reader may not see are not counted =======================
SELECT tests.authenticate_as('vera');
SELECT is(tests.code(format('SELECT api.stream_top_tippers(%L)', tests.id('hidden'))), 'LP003',
          'control: the leaderboard of the stream made private is LP003 to a viewer');
SELECT results_eq(format($$SELECT tipper_name, anonymous, tokens, tips FROM api.performer_top_tippers(%L, 'all')$$, tests.user_id('pia')),
                  $$VALUES ('vera', false, 100::bigint, 1::bigint), ('yuri', false, 20::bigint, 1::bigint)$$,
                  'performer_top_tippers: a viewer gets the public stream''s tips and those naming no stream, none of a private stream''s');
SELECT results_eq(format($$SELECT tipper_name, tokens FROM api.performer_top_tippers(%L, 'day')$$, tests.user_id('pia')),
                  $$VALUES ('vera', 100::bigint), ('yuri', 20::bigint)$$,
                  'performer_top_tippers: the same over a day');
SELECT tests.authenticate_as('paul');
SELECT results_eq(format($$SELECT tipper_name, tokens FROM api.performer_top_tippers(%L, 'all')$$, tests.user_id('pia')),
                  $$VALUES ('vera', 100::bigint), ('yuri', 20::bigint)$$,
                  'performer_top_tippers: another performer gets the same');
SELECT tests.authenticate_as('cora');
SELECT results_eq(format($$SELECT tipper_name, tokens FROM api.performer_top_tippers(%L, 'all')$$, tests.user_id('pia')),
                  $$VALUES ('vera', 100::bigint), ('yuri', 20::bigint)$$,
                  'performer_top_tippers: a co-performer of another of her streams gets the same (she may not read those streams'' boards)');
SELECT tests.authenticate_as('pia');
SELECT results_eq(format($$SELECT tipper_id, tipper_name, anonymous, tokens FROM api.performer_top_tippers(%L, 'all')$$, tests.user_id('pia')),
                  format($$VALUES (%L::uuid, 'wes', false, 500::bigint), (NULL::uuid, 'anonymous', true, 300::bigint),
                                  (%L::uuid, 'vera', false, 100::bigint), (%L::uuid, 'mona', false, 50::bigint),
                                  (%L::uuid, 'yuri', false, 20::bigint)$$,
                         tests.user_id('wes'), tests.user_id('vera'), tests.user_id('mona'), tests.user_id('yuri')),
                  'control: the performer gets every tip of her streams that are not deleted (the anonymous one still without a name)');
SELECT tests.authenticate_as('mona');
SELECT results_eq(format($$SELECT tipper_name, tokens FROM api.performer_top_tippers(%L, 'all')$$, tests.user_id('pia')),
                  $$VALUES ('wes', 500::bigint), ('anonymous', 300::bigint), ('zed', 200::bigint), ('vera', 100::bigint),
                           ('mona', 50::bigint), ('yuri', 20::bigint)$$,
                  'control: a moderator gets every tip, the deleted stream''s too (the anonymous one without a name)');
SELECT tests.authenticate_as('adam');
SELECT results_eq(format($$SELECT tipper_name, tokens FROM api.performer_top_tippers(%L, 'all')$$, tests.user_id('pia')),
                  $$VALUES ('wes', 500::bigint), ('xan', 300::bigint), ('zed', 200::bigint), ('vera', 100::bigint),
                           ('mona', 50::bigint), ('yuri', 20::bigint)$$,
                  'control: an admin gets every tip, the deleted stream''s too, the anonymous one named');

-- == a deleted stream's tips: gone from the board for all but staff ==========================================
SELECT tests.authenticate_as('vera');
SELECT is(tests.code(format('SELECT api.stream_top_tippers(%L)', tests.id('gone'))), 'LP003',
          'control: the deleted public stream''s own leaderboard is LP003 to a viewer');
SELECT is((SELECT count(*) FROM api.performer_top_tippers(tests.user_id('pia'), 'all') AS b
            WHERE b.tipper_id = tests.user_id('zed') OR b.tokens = 200),
          0::bigint, 'performer_top_tippers: a viewer gets no tip of the deleted public stream (no zed, no 200 tokens)');
SELECT tests.authenticate_as('pia');
SELECT is(tests.code(format('SELECT api.stream_top_tippers(%L)', tests.id('gone'))), 'LP003',
          'control: the deleted stream''s own leaderboard is LP003 to its host too');
SELECT is((SELECT count(*) FROM api.performer_top_tippers(tests.user_id('pia'), 'all') AS b
            WHERE b.tipper_id = tests.user_id('zed') OR b.tokens = 200),
          0::bigint, 'performer_top_tippers: the performer who hosted the deleted stream gets none of its tips either');
SELECT tests.clear_authentication();

SELECT * FROM finish();
ROLLBACK;
