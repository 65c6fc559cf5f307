-- Staff and a deleted stream (lp.streams.deleted_at: "hidden from everyone but moderators and admins"), one rule
-- (docs/streams.md, "Deleted streams"): moderators and admins READ a deleted stream and everything of it as they
-- read any stream (lp.stream_visible: api.get_stream, its leaderboard, goals, shows, events and their channel,
-- statistics, who watched, and its tips on the performer's board); NOBODY TAKES PART in it: a join of the
-- stream or of a show, a tip (api.tip, api.tip_many), a hold, a show request or a report answer LP003 to staff
-- as to everyone. The stream transitions (lp.lock_stream) see it for staff like any stream, so staff get the
-- answer they get on any stream (LP002 not the host, LP004 its status); the staff's own paths (an admin ending
-- it, cancelling a goal, ending a show: tests/sql/test_deleted_streams.sql) stay. A viewer gets LP003 for all.
-- Before: api.get_stream, lp.lock_stream and the stream reads answered staff LP003 while lp.stream_visible and
-- api.performer_top_tippers showed them the stream.
BEGIN;
SELECT plan(51);

-- Helpers of this file.
--   tests.code(sql)   'ok' when the statement succeeds, else its SQLSTATE; either way nothing it did stays
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

-- pia hosts a live public stream with a goal and an open group show; vera tips in it and watches; then the
-- stream is marked deleted (no API function sets deleted_at: the superuser does it here), left live so that a
-- refusal is the deletion's, not the status's.
DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.approve_kyc('pia');
    PERFORM tests.fund(u, 1000) FROM unnest(ARRAY['vera', 'mona', 'adam']) AS u;
    PERFORM tests.authenticate_as('pia');
    PERFORM api.set_show_price('group', 10, 1, NULL, 2);
    PERFORM tests.remember('s', (api.schedule_stream('pia live')).id);
    PERFORM api.consent_to_stream(tests.id('s'), '203.0.113.1');
    PERFORM api.start_stream(tests.id('s'));
    PERFORM api.add_tip_goal(tests.id('s'), 1000, 'a goal');
    PERFORM tests.remember('group', (api.offer_show(tests.id('s'), 'group')).id);
    PERFORM tests.authenticate_as('vera');
    PERFORM api.join_stream(tests.id('s'));
    PERFORM api.tip(tests.user_id('pia'), 25, 'vera-1', tests.id('s'));
    PERFORM tests.clear_authentication();
    UPDATE lp.streams SET deleted_at = now() WHERE id = tests.id('s');
END
$$;

-- tests.walk(username): one row per function, its answer to the user on the deleted stream.
CREATE FUNCTION tests.walk(p_user text) RETURNS TABLE (fn text, answer text)
    LANGUAGE plpgsql AS $$
DECLARE
    v_s   uuid := tests.id('s');
    v_pia uuid := tests.user_id('pia');
BEGIN
    PERFORM tests.authenticate_as(p_user);
    -- reads
    fn := 'get_stream';            answer := tests.code(format('SELECT api.get_stream(%L)', v_s)); RETURN NEXT;
    fn := 'stream_top_tippers';    answer := tests.code(format('SELECT * FROM api.stream_top_tippers(%L)', v_s)); RETURN NEXT;
    fn := 'stream_goals';          answer := tests.code(format('SELECT * FROM api.stream_goals(%L)', v_s)); RETURN NEXT;
    fn := 'stream_shows';          answer := tests.code(format('SELECT * FROM api.stream_shows(%L)', v_s)); RETURN NEXT;
    fn := 'stream_events';         answer := tests.code(format('SELECT * FROM api.stream_events(%L)', v_s)); RETURN NEXT;
    fn := 'stream_channel';        answer := tests.code(format('SELECT api.stream_channel(%L)', v_s)); RETURN NEXT;
    fn := 'list_stream_viewers';   answer := tests.code(format('SELECT * FROM api.list_stream_viewers(%L)', v_s)); RETURN NEXT;
    fn := 'stream_stats rows';     answer := (SELECT count(*)::text FROM api.stream_stats(v_s)); RETURN NEXT;
    fn := 'performer_top_tippers tokens';
    answer := (SELECT coalesce(sum(t.tokens), 0)::text FROM api.performer_top_tippers(v_pia, 'all') AS t); RETURN NEXT;
    -- taking part
    fn := 'join_stream';           answer := tests.code(format('SELECT api.join_stream(%L)', v_s)); RETURN NEXT;
    fn := 'tip';                   answer := tests.code(format($q$SELECT api.tip(%L, 10, %L, %L)$q$, v_pia, p_user || '-t', v_s)); RETURN NEXT;
    fn := 'tip_many';
    answer := (SELECT coalesce(r.error_code, 'ok') FROM api.tip_many(jsonb_build_array(jsonb_build_object(
                   'session_token', (SELECT l.token FROM api.login(p_user, tests.password()) AS l),
                   'recipient_id', v_pia, 'amount', 10, 'idempotency_key', p_user || '-m',
                   'stream_id', v_s))) AS r);
    RETURN NEXT;
    PERFORM tests.authenticate_as(p_user);  -- api.login above
    fn := 'place_hold';
    answer := tests.code(format($q$SELECT api.place_hold(%L, 10, %L, 'private_show', NULL, %L)$q$, v_pia, p_user || '-h', v_s));
    RETURN NEXT;
    fn := 'request_show';          answer := tests.code(format($q$SELECT api.request_show(%L, %L)$q$, v_s, p_user || '-r')); RETURN NEXT;
    fn := 'join_show';             answer := tests.code(format($q$SELECT api.join_show(%L, %L)$q$, tests.id('group'), p_user || '-j')); RETURN NEXT;
    fn := 'report';                answer := tests.code(format($q$SELECT api.report('stream', %L, 'spam')$q$, v_s)); RETURN NEXT;
    PERFORM tests.clear_authentication();
END
$$;

CREATE TEMP TABLE walked AS
SELECT u AS who, w.fn, w.answer FROM unnest(ARRAY['mona', 'adam', 'vera']) AS u CROSS JOIN LATERAL tests.walk(u) AS w;

-- == staff read it ==============================================================================================
SELECT is(answer, 'ok', format('%s: %s reads the deleted stream', fn, who))
  FROM walked
 WHERE who IN ('mona', 'adam')
   AND fn IN ('get_stream', 'stream_top_tippers', 'stream_goals', 'stream_shows', 'stream_events', 'stream_channel',
              'list_stream_viewers')
 ORDER BY who, fn;
SELECT is(answer, '1', format('stream_stats: %s gets the deleted stream''s statistics', who))
  FROM walked WHERE who IN ('mona', 'adam') AND fn = 'stream_stats rows' ORDER BY who;
SELECT is(answer, '25', format('performer_top_tippers: %s counts the deleted stream''s tip', who))
  FROM walked WHERE who IN ('mona', 'adam') AND fn = 'performer_top_tippers tokens' ORDER BY who;

-- == nobody takes part in it, staff included =====================================================================
SELECT is(answer, 'LP003', format('%s: %s may not take part in a deleted stream (LP003)', fn, who))
  FROM walked
 WHERE fn IN ('join_stream', 'tip', 'tip_many', 'place_hold', 'request_show', 'join_show', 'report')
 ORDER BY who, fn;

-- == a viewer reads nothing of it ================================================================================
SELECT is(answer, 'LP003',
          format('%s: a viewer gets LP003 for the deleted stream', fn))
  FROM walked
 WHERE who = 'vera'
   AND fn IN ('get_stream', 'stream_top_tippers', 'stream_goals', 'stream_shows', 'stream_events', 'stream_channel',
              'list_stream_viewers')
 ORDER BY fn;
SELECT is(answer, '0', 'stream_stats: a viewer gets no row for the deleted stream')
  FROM walked WHERE who = 'vera' AND fn = 'stream_stats rows';
SELECT is(answer, '0', 'performer_top_tippers: a viewer counts none of the deleted stream''s tips')
  FROM walked WHERE who = 'vera' AND fn = 'performer_top_tippers tokens';

-- == the transitions (lp.lock_stream): staff see it, an admin's clearing-up path stays ======================================================
SELECT tests.authenticate_as('vera');
SELECT is(tests.code(format($$SELECT api.end_stream(%L, 'cleanup')$$, tests.id('s'))), 'LP003',
          'end_stream: a viewer gets LP003 (lp.lock_stream: the deleted stream is not told)');
SELECT tests.authenticate_as('mona');
SELECT is(tests.code(format($$SELECT api.end_stream(%L, 'cleanup')$$, tests.id('s'))), 'LP002',
          'end_stream: a moderator sees the deleted stream (LP002: only the host or an admin ends it)');
SELECT tests.authenticate_as('adam');
SELECT is(tests.code(format($$SELECT api.end_stream(%L, 'cleanup')$$, tests.id('s'))), 'ok',
          'end_stream: an admin ends a deleted stream left live (the staff''s clearing-up path)');
SELECT tests.clear_authentication();

SELECT * FROM finish();
ROLLBACK;
