-- One rule for who sees a stream (lp.stream_visible; docs/streams.md, "Deleted streams" and "Summary and
-- leaderboard"): a stream is visible to a user when it is public, or they host it, or they perform in it
-- (lp.stream_performers), or they are staff (moderator, admin: a deleted stream too); a deleted stream to staff
-- only. Every read-only api function taking a stream id (STABLE, first argument p_stream_id) answers LP003
-- exactly where that rule says "not visible" (api.stream_stats: no row instead), checked from the catalog.
-- Before: api.stream_top_tippers answered a co-performer of a private stream LP003 and api.stream_stats gave them
-- no row (both wrote the rule out without the co-performers); api.stream_summary (the view) left a deleted
-- stream out for staff too, while every one-stream read answers staff for it. What is shown beyond visibility
-- stays: tokens tipped (the host's earnings) for the host and admins only.
-- Then: api.stream_summary (rows: the lp.streams policies) and api.list_performer_streams left a private stream
-- out for its co-performers (the policies had no co-performer rule: reading lp.stream_performers from them
-- recursed; the listing gave the others the public streams only). The policies now ask lp.is_co_performer, the
-- listing lp.stream_visible: both follow the rule, for every user and stream here (a co-performer taken off the
-- stream too), with their own limits (the summary: staff see a deleted stream; the listing: the performer's
-- hosted streams only, deleted ones to nobody).
BEGIN;
SELECT plan(29);

-- Helpers of this file.
--   tests.code(sql)   'ok' when the statement succeeds, else its SQLSTATE; either way nothing it did stays
--   tests.rows(sql)   'ok:<rows>' when the query succeeds, else its SQLSTATE; either way nothing it did stays
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
CREATE FUNCTION tests.rows(p_sql text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_n bigint;
BEGIN
    BEGIN
        EXECUTE format('SELECT count(*) FROM (%s) AS q', p_sql) INTO v_n;
        RAISE EXCEPTION USING ERRCODE = 'TT000';  -- undo it
    EXCEPTION WHEN OTHERS THEN
        RETURN CASE WHEN SQLSTATE = 'TT000' THEN 'ok:' || v_n ELSE SQLSTATE END;
    END;
END
$$;

-- pia hosts a private stream with cora as co-performer, a public one, and a public one that is then marked
-- deleted (no API function sets deleted_at: the superuser does it here); rhea was a co-performer of the private
-- one and was taken off it; vera is a viewer, mona a moderator, adam an admin.
DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('cora', 'performer');
    PERFORM tests.create_user('rhea', 'performer');
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.authenticate_as('pia');
    PERFORM tests.remember('priv', (api.schedule_stream('pia private', p_visibility => 'private')).id);
    PERFORM tests.remember('pub', (api.schedule_stream('pia public')).id);
    PERFORM tests.remember('del', (api.schedule_stream('pia deleted')).id);
    PERFORM api.add_stream_performer(tests.id('priv'), tests.user_id('cora'));
    PERFORM api.add_stream_performer(tests.id('priv'), tests.user_id('rhea'));
    PERFORM api.remove_stream_performer(tests.id('priv'), tests.user_id('rhea'));
    PERFORM tests.clear_authentication();
    UPDATE lp.streams SET deleted_at = now() WHERE id = tests.id('del');
END
$$;

-- The rule, written out: who sees which stream.
CREATE TEMP TABLE rule (who text, stream text, visible boolean);
INSERT INTO rule
SELECT u, s, CASE s WHEN 'pub' THEN true
                    WHEN 'priv' THEN u IN ('pia', 'cora', 'mona', 'adam')
                    WHEN 'del' THEN u IN ('mona', 'adam') END
  FROM unnest(ARRAY['pia', 'cora', 'rhea', 'vera', 'mona', 'adam']) AS u
 CROSS JOIN unnest(ARRAY['priv', 'pub', 'del']) AS s;

-- == api.stream_top_tippers and api.stream_stats: a co-performer sees the private stream ========================
SELECT tests.authenticate_as('cora');
SELECT is(tests.code(format('SELECT * FROM api.stream_top_tippers(%L)', tests.id('priv'))), 'ok',
          'stream_top_tippers: a co-performer reads a private stream''s leaderboard');
SELECT is((SELECT count(*) FROM api.stream_stats(tests.id('priv'))), 1::bigint,
          'stream_stats: a co-performer gets a private stream''s statistics');
SELECT is((SELECT count(*) FROM api.stream_stats(tests.id('priv')) WHERE tokens_tipped IS NULL), 1::bigint,
          'stream_stats: but not the host''s earnings (tokens tipped NULL for a co-performer)');
SELECT tests.authenticate_as('vera');
SELECT is(tests.code(format('SELECT * FROM api.stream_top_tippers(%L)', tests.id('priv'))), 'LP003',
          'stream_top_tippers: a viewer is not told a private stream');
SELECT is((SELECT count(*) FROM api.stream_stats(tests.id('priv'))), 0::bigint,
          'stream_stats: a viewer gets no row for a private stream');
SELECT tests.authenticate_as('pia');
SELECT is((SELECT tokens_tipped FROM api.stream_stats(tests.id('priv'))), 0::bigint,
          'stream_stats: the host reads their earnings');
SELECT tests.authenticate_as('mona');
SELECT is((SELECT count(*) FROM api.stream_stats(tests.id('priv')) WHERE tokens_tipped IS NULL), 1::bigint,
          'stream_stats: a moderator gets the statistics, not the host''s earnings');
SELECT tests.authenticate_as('adam');
SELECT is((SELECT tokens_tipped FROM api.stream_stats(tests.id('priv'))), 0::bigint,
          'stream_stats: an admin reads the host''s earnings');
SELECT tests.clear_authentication();

-- == every read-only api function taking a stream id follows the rule (from the catalog) ========================
-- The readers: api functions, STABLE, whose first argument is p_stream_id uuid and whose others have defaults.
CREATE TEMP TABLE readers AS
SELECT p.proname::text AS fn
  FROM pg_catalog.pg_proc AS p
 WHERE p.pronamespace = 'api'::regnamespace
   AND p.provolatile = 's'
   AND p.pronargs >= 1 AND p.proargtypes[0] = 'uuid'::regtype AND p.proargnames[1] = 'p_stream_id'
   AND p.pronargdefaults = p.pronargs - 1;
GRANT SELECT ON readers, rule TO PUBLIC;
SELECT ok((SELECT array_agg(fn) FROM readers) @> ARRAY['get_stream', 'stream_channel', 'stream_events',
          'stream_goals', 'stream_shows', 'stream_stats', 'stream_top_tippers'],
          'the catalog finds the one-stream readers');

-- tests.answers(): each reader's answer to each user on each stream.
CREATE FUNCTION tests.answers() RETURNS TABLE (fn text, who text, stream text, answer text)
    LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT x.who, x.stream, f.fn FROM rule AS x CROSS JOIN readers AS f ORDER BY 1, 2, 3 LOOP
        PERFORM tests.authenticate_as(r.who);
        fn := r.fn; who := r.who; stream := r.stream;
        answer := tests.rows(format('SELECT * FROM api.%I(%L)', r.fn, tests.id(r.stream)));
        PERFORM tests.clear_authentication();
        RETURN NEXT;
    END LOOP;
END
$$;
CREATE TEMP TABLE answered AS SELECT * FROM tests.answers();

-- Refused: LP003, or (api.stream_stats, which raises nothing) no row.
SELECT is((SELECT string_agg(format('%s: %s on %s answered %s', a.fn, a.who, a.stream, a.answer), '; '
                             ORDER BY a.fn, a.who, a.stream)
             FROM answered AS a JOIN rule AS x USING (who, stream)
            WHERE (a.answer = 'LP003' OR (a.fn = 'stream_stats' AND a.answer = 'ok:0')) = x.visible),
          NULL, 'every one-stream reader refuses (LP003) exactly the streams lp.stream_visible hides');
SELECT is((SELECT string_agg(format('%s: %s', a.fn, a.answer), '; ') FROM answered AS a
            WHERE a.who = 'cora' AND a.stream = 'priv' AND a.answer = 'LP003'),
          NULL, 'no one-stream reader refuses a co-performer their private stream');
SELECT is((SELECT string_agg(format('%s: %s on %s answered %s', a.fn, a.who, a.stream, a.answer), '; ')
             FROM answered AS a JOIN rule AS x USING (who, stream)
            WHERE x.visible AND a.answer NOT LIKE 'ok:%' AND (a.answer NOT LIKE 'LP%' OR a.answer = 'LP003')),
          NULL, 'where the stream is visible every one-stream reader answers (rows, or a refusal of its own: not LP003)');

-- == api.stream_summary and api.list_performer_streams: a co-performer sees the private stream ==================
SELECT tests.authenticate_as('cora');
SELECT is((SELECT count(*) FROM api.stream_summary WHERE id = tests.id('priv')), 1::bigint,
          'stream_summary: a co-performer reads the host''s private stream''s row');
SELECT is((SELECT count(*) FROM api.stream_summary
            WHERE id = tests.id('priv') AND tip_count = 0 AND tokens_tipped IS NULL), 1::bigint,
          'stream_summary: with its statistics, but not the host''s earnings (tokens tipped NULL for a co-performer)');
SELECT is((SELECT count(*) FROM lp.streams WHERE id = tests.id('priv')), 1::bigint,
          'lp.streams: a co-performer reads the private stream''s row (the policies, as the view)');
SELECT results_eq(format($$SELECT title FROM api.list_performer_streams(%L) ORDER BY title$$, tests.user_id('pia')),
                  $$VALUES ('pia private'), ('pia public')$$,
                  'list_performer_streams: a co-performer finds the host''s private stream among the host''s streams');
SELECT is_empty(format($$SELECT title FROM api.list_performer_streams(%L)$$, tests.user_id('cora')),
                'list_performer_streams: a performer''s own listing is the streams they host (not those they co-perform in)');
SELECT tests.authenticate_as('rhea');
SELECT is((SELECT count(*) FROM api.stream_summary WHERE id = tests.id('priv')), 0::bigint,
          'stream_summary: a co-performer taken off the stream no longer reads it');
SELECT results_eq(format($$SELECT title FROM api.list_performer_streams(%L)$$, tests.user_id('pia')),
                  $$VALUES ('pia public')$$,
                  'list_performer_streams: nor finds it listed');
SELECT tests.authenticate_as('vera');
SELECT is((SELECT count(*) FROM api.stream_summary WHERE id = tests.id('priv')), 0::bigint,
          'stream_summary: an unrelated user does not read the private stream');
SELECT tests.clear_authentication();

-- Every user on every stream: the summary's rows are the rule's (staff read the deleted stream), the listing's
-- too, deleted streams left out for everyone.
CREATE FUNCTION tests.seen() RETURNS TABLE (who text, stream text, in_summary boolean, in_listing boolean)
    LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT x.who, x.stream FROM rule AS x ORDER BY 1, 2 LOOP
        PERFORM tests.authenticate_as(r.who);
        who := r.who; stream := r.stream;
        in_summary := EXISTS (SELECT 1 FROM api.stream_summary AS v WHERE v.id = tests.id(r.stream));
        in_listing := EXISTS (SELECT 1 FROM api.list_performer_streams(tests.user_id('pia')) AS l
                               WHERE l.id = tests.id(r.stream));
        PERFORM tests.clear_authentication();
        RETURN NEXT;
    END LOOP;
END
$$;
CREATE TEMP TABLE seen AS SELECT * FROM tests.seen();
SELECT is((SELECT string_agg(format('%s on %s: %s', x.who, x.stream, s.in_summary), '; ' ORDER BY x.who, x.stream)
             FROM seen AS s JOIN rule AS x USING (who, stream) WHERE s.in_summary <> x.visible),
          NULL, 'stream_summary: every user reads exactly the streams lp.stream_visible shows them');
SELECT is((SELECT string_agg(format('%s on %s: %s', x.who, x.stream, s.in_listing), '; ' ORDER BY x.who, x.stream)
             FROM seen AS s JOIN rule AS x USING (who, stream)
            WHERE s.in_listing <> (x.visible AND x.stream <> 'del')),
          NULL, 'list_performer_streams: every user finds exactly the streams lp.stream_visible shows them, deleted ones left out');

-- == api.stream_summary: staff read a deleted stream, nobody else ==============================================
SELECT tests.authenticate_as('mona');
SELECT is((SELECT count(*) FROM api.stream_summary WHERE id = tests.id('del')), 1::bigint,
          'stream_summary: a moderator reads a deleted stream''s row');
SELECT isnt((SELECT deleted_at FROM api.stream_summary WHERE id = tests.id('del')), NULL,
            'stream_summary: marked deleted (deleted_at)');
SELECT is((SELECT count(*) FROM api.stream_summary WHERE id = tests.id('del') AND tip_count = 0), 1::bigint,
          'stream_summary: with its statistics (api.stream_stats answers staff for it)');
SELECT tests.authenticate_as('adam');
SELECT is((SELECT count(*) FROM api.stream_summary WHERE id = tests.id('del')), 1::bigint,
          'stream_summary: an admin reads a deleted stream''s row');
SELECT tests.authenticate_as('pia');
SELECT is((SELECT count(*) FROM api.stream_summary WHERE id = tests.id('del')), 0::bigint,
          'stream_summary: the host does not see their deleted stream');
SELECT tests.authenticate_as('vera');
SELECT is((SELECT count(*) FROM api.stream_summary WHERE id = tests.id('del')), 0::bigint,
          'stream_summary: a viewer does not see a deleted stream');
SELECT is((SELECT count(*) FROM api.stream_summary WHERE id = tests.id('pub') AND deleted_at IS NULL), 1::bigint,
          'stream_summary: a stream not deleted has deleted_at NULL');
SELECT tests.clear_authentication();

SELECT * FROM finish();
ROLLBACK;
