-- A deleted stream (lp.streams.deleted_at set: "hidden from everyone but moderators and admins") is answered
-- as a stream that does not exist (LP003) by every function that takes its id, or the id of one of its goals
-- or shows, to everyone but staff: lp.stream_visible and lp.show_visible, and what calls them or writes their
-- rule out (api.cancel_tip_goal; the show transitions through lp.lock_show). Nothing in the API sets
-- deleted_at today (the superuser does it here); the functions that already filtered it stay controls: the
-- stream transitions (lp.lock_stream), reads, joins, tips (api.tip, api.tip_many), holds, shows asked for or
-- joined, the channel, and the listings.
BEGIN;
SELECT plan(27);

-- Helpers of this file.
--   tests.code(sql)   'ok' when the statement succeeds, else its SQLSTATE; either way nothing it did stays
--   tests.fund(username, n)   credits n tokens from the issuance wallet
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

-- pia hosts a live public stream with a goal, an open group show and owen's request for a private show (owen
-- watches); then the stream is marked deleted.
DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('owen');
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.approve_kyc('pia');
    PERFORM tests.fund(u, 1000) FROM unnest(ARRAY['owen', 'vera']) AS u;
    PERFORM tests.authenticate_as('pia');
    PERFORM api.set_show_price('private', 10, 1);
    PERFORM api.set_show_price('group', 10, 1, NULL, 2);
    PERFORM tests.remember('s', (api.schedule_stream('pia live')).id);
    PERFORM api.consent_to_stream(tests.id('s'), '203.0.113.1');
    PERFORM api.start_stream(tests.id('s'));
    PERFORM tests.remember('goal', (api.add_tip_goal(tests.id('s'), 1000, 'a goal')).id);
    PERFORM tests.remember('group', (api.offer_show(tests.id('s'), 'group')).id);
    PERFORM tests.authenticate_as('owen');
    PERFORM api.join_stream(tests.id('s'));
    PERFORM tests.remember('request', (api.request_show(tests.id('s'), 'owen-show')).id);
    PERFORM tests.clear_authentication();
    UPDATE lp.streams SET deleted_at = now() WHERE id = tests.id('s');
END
$$;

-- == the helpers ===============================================================================================
SELECT tests.authenticate_as('pia', 'livepanty_owner');  -- the helpers are owner-only
SELECT is(lp.stream_visible(tests.id('s'), tests.user_id('pia')), false,
          'stream_visible: a deleted stream is not visible to its host');
SELECT is(lp.show_visible(tests.id('group'), tests.user_id('pia')), false,
          'show_visible: a show of a deleted stream is not visible to its host');
SELECT tests.authenticate_as('owen', 'livepanty_owner');  -- the helpers are owner-only
SELECT is(lp.stream_visible(tests.id('s'), tests.user_id('owen')), false,
          'stream_visible: a deleted public stream is not visible to a viewer');
SELECT is(lp.show_visible(tests.id('request'), tests.user_id('owen')), false,
          'show_visible: a show of a deleted stream is not visible to the viewer taking part in it');
SELECT tests.authenticate_as('mona', 'livepanty_owner');  -- the helpers are owner-only
SELECT is(lp.stream_visible(tests.id('s'), tests.user_id('mona')), true,
          'stream_visible: staff see a deleted stream (the column''s rule, as row level security)');
SELECT is(lp.show_visible(tests.id('group'), tests.user_id('mona')), true,
          'show_visible: staff see a show of a deleted stream');

-- == what took the rule on trust: a goal, the show transitions =================================================
SELECT tests.authenticate_as('pia');
SELECT is(tests.code(format('SELECT api.cancel_tip_goal(%L)', tests.id('goal'))), 'LP003',
          'cancel_tip_goal: the host cancelling a goal of her deleted stream gets LP003');
SELECT is(tests.code(format('SELECT api.answer_show(%L, true)', tests.id('request'))), 'LP003',
          'answer_show: the host answering a request in her deleted stream gets LP003');
SELECT is(tests.code(format('SELECT api.start_show(%L)', tests.id('group'))), 'LP003',
          'start_show: the host starting a show of her deleted stream gets LP003');
SELECT is(tests.code(format('SELECT api.end_show(%L)', tests.id('group'))), 'LP003',
          'end_show: the host ending a show of her deleted stream gets LP003');
SELECT tests.authenticate_as('owen');
SELECT is(tests.code(format('SELECT api.leave_show(%L)', tests.id('request'))), 'LP003',
          'leave_show: the viewer of a show of a deleted stream gets LP003');
SELECT tests.authenticate_as('vera');
SELECT is(tests.code(format('SELECT api.cancel_tip_goal(%L)', tests.id('goal'))), 'LP003',
          'cancel_tip_goal: a viewer gets LP003 (not LP002: a deleted stream''s goal is not told)');
SELECT is(tests.code(format('SELECT api.end_show(%L)', tests.id('group'))), 'LP003',
          'end_show: a viewer gets LP003 (not LP002: a deleted stream''s open show is not told)');

-- == staff keep their paths =====================================================================================
SELECT tests.authenticate_as('adam');
SELECT is(tests.code(format($$SELECT api.cancel_tip_goal(%L, 'cleanup')$$, tests.id('goal'))), 'ok',
          'cancel_tip_goal: an admin cancels a goal of a deleted stream');
SELECT is(tests.code(format($$SELECT api.end_show(%L, 'cleanup')$$, tests.id('group'))), 'ok',
          'end_show: an admin ends a show of a deleted stream');
SELECT tests.authenticate_as('mona');
SELECT is(tests.code(format('SELECT api.end_show(%L)', tests.id('group'))), 'LP002',
          'end_show: a moderator sees the show (LP002: only the host or an admin ends it)');

-- == controls: these answered LP003 (or left the stream out) before ============================================
SELECT tests.authenticate_as('pia');
SELECT is(tests.code(format($$SELECT api.update_stream(%L, 'x')$$, tests.id('s'))), 'LP003',
          'control: update_stream (lp.lock_stream) of a deleted stream is LP003 to its host');
SELECT is(tests.code(format('SELECT api.get_stream(%L)', tests.id('s'))), 'LP003',
          'control: get_stream of a deleted stream is LP003');
SELECT is(tests.code(format('SELECT api.stream_channel(%L)', tests.id('s'))), 'LP003',
          'control: stream_channel of a deleted stream is LP003');
SELECT tests.authenticate_as('vera');
SELECT is(tests.code(format('SELECT api.join_stream(%L)', tests.id('s'))), 'LP003',
          'control: join_stream of a deleted stream is LP003');
SELECT is(tests.code(format($$SELECT api.tip(%L, 10, 'v1', %L)$$, tests.user_id('pia'), tests.id('s'))), 'LP003',
          'control: a tip naming a deleted stream is LP003');
SELECT is((SELECT error_code FROM api.tip_many(jsonb_build_array(jsonb_build_object(
               'session_token', (SELECT token FROM api.login('vera', tests.password())),
               'recipient_id', tests.user_id('pia'), 'amount', 10, 'idempotency_key', 'v2',
               'stream_id', tests.id('s'))))),
          'LP003', 'control: tip_many: a tip naming a deleted stream is LP003');
SELECT is(tests.code(format($$SELECT api.place_hold(%L, 10, 'v3', 'private_show', NULL, %L)$$,
                            tests.user_id('pia'), tests.id('s'))), 'LP003',
          'control: a hold naming a deleted stream is LP003');
SELECT is(tests.code(format($$SELECT api.join_show(%L, 'v4')$$, tests.id('group'))), 'LP003',
          'control: join_show of a show of a deleted stream is LP003');
SELECT is(tests.code(format($$SELECT api.request_show(%L, 'v5')$$, tests.id('s'))), 'LP003',
          'control: request_show in a deleted stream is LP003');
SELECT is((SELECT count(*) FROM api.list_live_streams() AS l WHERE l.id = tests.id('s')), 0::bigint,
          'control: list_live_streams leaves a deleted live stream out');
SELECT is((SELECT count(*) FROM api.list_performer_streams(tests.user_id('pia')) AS l WHERE l.id = tests.id('s')),
          0::bigint, 'control: list_performer_streams leaves a deleted stream out');
SELECT tests.clear_authentication();

SELECT * FROM finish();
ROLLBACK;
