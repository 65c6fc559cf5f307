-- Discovery (issue 8, section 2): api.list_live_streams (most watched first, by category and tag, keyset pages,
-- read from an index) and api.list_performer_streams; the viewer sweep copies the counts the listing orders by.
BEGIN;
SELECT plan(22);

-- 1,000 performers each live with a public stream (listed viewers 0..999 spread, two categories, a tag on
-- every third), 1,000 ended streams and 50 live private ones: enough rows that reading them all would show.
DO $$
BEGIN
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('pia', 'performer');
    INSERT INTO lp.users (id, email, username, password_hash, role, date_of_birth)
    SELECT ('00000000-0000-4000-b000-' || lpad(n::text, 12, '0'))::uuid, 'p' || n || '@example.com', 'perf_' || n,
           '$2a$04$' || repeat('a', 53), 'performer', DATE '1990-01-01'
      FROM generate_series(1, 1050) AS n;
    INSERT INTO lp.streams (host_id, title, category, tags, status, visibility, started_at, listed_viewers)
    SELECT ('00000000-0000-4000-b000-' || lpad(n::text, 12, '0'))::uuid, 'live ' || n,
           CASE WHEN n % 2 = 0 THEN 'music' ELSE 'chat' END,
           CASE WHEN n % 3 = 0 THEN ARRAY['duo'] ELSE ARRAY[]::text[] END,
           'live', 'public', now(), (n * 7919) % 1000
      FROM generate_series(1, 1000) AS n;
    INSERT INTO lp.streams (host_id, title, status, visibility, started_at, ended_at)
    SELECT ('00000000-0000-4000-b000-' || lpad((n % 1000 + 1)::text, 12, '0'))::uuid, 'ended ' || n, 'ended', 'public',
           now() - interval '2 hours', now() - interval '1 hour'
      FROM generate_series(1, 1000) AS n;
    INSERT INTO lp.streams (host_id, title, status, visibility, started_at, listed_viewers)
    SELECT ('00000000-0000-4000-b000-' || lpad(n::text, 12, '0'))::uuid, 'private ' || n, 'live', 'private', now(), 5000
      FROM generate_series(1001, 1050) AS n;
END
$$;
ANALYZE lp.streams;

CREATE FUNCTION tests.expected(p_category text, p_tag text, p_limit integer) RETURNS TABLE (id uuid)
    LANGUAGE sql STABLE AS $$
    SELECT s.id FROM lp.streams AS s
     WHERE s.status = 'live' AND s.visibility = 'public' AND s.deleted_at IS NULL
       AND (p_category IS NULL OR s.category = p_category) AND (p_tag IS NULL OR 'duo' = ANY (s.tags))
     ORDER BY s.listed_viewers DESC, s.id DESC LIMIT p_limit
$$;
CREATE FUNCTION tests.paged(p_category text, p_tag text, p_page integer, p_pages integer) RETURNS TABLE (id uuid, page integer)
    LANGUAGE plpgsql AS $$
DECLARE
    v_viewers integer;
    v_id      uuid;
    r         record;
BEGIN
    FOR i IN 1 .. p_pages LOOP
        FOR r IN SELECT * FROM api.list_live_streams(p_category, p_tag, v_viewers, v_id, p_page) LOOP
            id := r.id; page := i;
            RETURN NEXT;
            v_viewers := r.viewers; v_id := r.id;
        END LOOP;
    END LOOP;
END
$$;
CREATE FUNCTION tests.scans() RETURNS TABLE (seq bigint, idx bigint) LANGUAGE sql AS $$
    SELECT coalesce(t.seq_scan, 0), coalesce(t.idx_scan, 0) FROM pg_stat_xact_user_tables AS t WHERE t.relid = 'lp.streams'::regclass
$$;
CREATE TABLE tests.scan_mark (seq bigint, idx bigint);
GRANT ALL ON tests.scan_mark TO PUBLIC;

-- == api.list_live_streams =================================================================================
SELECT tests.authenticate_as('vic');
SELECT is((SELECT count(*) FROM api.list_live_streams()), 50::bigint, 'list_live_streams: a page of 50 by default');
SELECT results_eq($$SELECT id FROM api.list_live_streams(p_limit => 200)$$, $$SELECT id FROM tests.expected(NULL, NULL, 200)$$,
                  'list_live_streams: live public streams, most watched first (ties by id); private and ended ones left out');
SELECT results_eq($$SELECT id FROM tests.paged(NULL, NULL, 37, 10)$$, $$SELECT id FROM tests.expected(NULL, NULL, 370)$$,
                  'list_live_streams: 10 keyset pages of 37 are the first 370, no row twice, none missing');
SELECT results_eq($$SELECT id FROM tests.paged('music', NULL, 25, 4)$$, $$SELECT id FROM tests.expected('music', NULL, 100)$$,
                  'list_live_streams: by category, paged');
SELECT results_eq($$SELECT id FROM tests.paged(NULL, 'DUO', 30, 3)$$, $$SELECT id FROM tests.expected(NULL, 'duo', 90)$$,
                  'list_live_streams: by tag (any case), paged');
SELECT ok((SELECT bool_and(host_name LIKE 'perf_%') FROM api.list_live_streams()), 'list_live_streams: the host''s name comes along');
SELECT throws_ok($$SELECT * FROM api.list_live_streams(p_limit => 0)$$, 'LP018', NULL, 'list_live_streams: a limit of 0 is LP018');
SELECT throws_ok($$SELECT * FROM api.list_live_streams(p_after_viewers => 5)$$, 'LP018', NULL, 'list_live_streams: half a keyset is LP018');
SELECT throws_ok($$SELECT * FROM api.list_live_streams('Not a category')$$, 'LP018', NULL, 'list_live_streams: a malformed category is LP018');
SELECT throws_ok($$SELECT * FROM api.list_live_streams(p_tag => repeat('x', 40))$$, 'LP018', NULL, 'list_live_streams: a tag longer than 32 characters is LP018');
-- Read from an index, never the whole table: the transaction's own scan counters of lp.streams.
SELECT tests.clear_authentication();
INSERT INTO tests.scan_mark SELECT * FROM tests.scans();
SELECT tests.authenticate_as('vic');
SELECT is((SELECT count(*) FROM api.list_live_streams(p_after_viewers => 500, p_after_id => '00000000-0000-0000-0000-000000000000')),
          50::bigint, 'list_live_streams: a page deep in the list');
SELECT is((SELECT count(*) FROM api.list_live_streams('chat', p_limit => 10)), 10::bigint, 'list_live_streams: a category page');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT s.seq - m.seq, s.idx > m.idx FROM tests.scans() AS s, tests.scan_mark AS m$$,
                  $$VALUES (0::bigint, true)$$, 'list_live_streams: answered by index scans, no sequential scan of lp.streams');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT * FROM api.list_live_streams()$$, 'LP001', NULL, 'list_live_streams: nobody acting is LP001');

-- == the sweep copies the counts ===========================================================================
SELECT tests.clear_authentication();
INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at, expires_at)
VALUES (tests.user_id('pia'), 'identity', 'approved', 'passport', 'DE', now(), now() + interval '1 year');
SELECT tests.authenticate_as('pia');
SELECT tests.remember('pia_live', (api.schedule_stream('Pia live', p_tags => ARRAY['duo'])).id);
SELECT isnt((api.consent_to_stream(tests.id('pia_live'), '203.0.113.1')).consented_at, NULL, 'pia consents');
SELECT is((api.start_stream(tests.id('pia_live'))).status, 'live', 'pia goes live');
SELECT tests.clear_authentication();
UPDATE lp.stream_counters SET current_viewers = 2000 WHERE stream_id = tests.id('pia_live') AND shard = 1;
SELECT tests.authenticate_as('vic');
SELECT isnt((SELECT id FROM api.list_live_streams(p_limit => 1)), tests.id('pia_live'), 'before the sweep, pia is listed with 0 viewers');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.sweep_viewers(), 0, 'the sweep closes nothing ...');
SELECT tests.authenticate_as('vic');
SELECT results_eq($$SELECT id, viewers FROM api.list_live_streams(p_limit => 1)$$,
                  $$SELECT tests.id('pia_live'), 2000$$, '... and copies the count: pia is first with 2000 viewers');

-- == api.list_performer_streams ============================================================================
SELECT tests.clear_authentication();
INSERT INTO lp.streams (host_id, title, visibility, created_at)
VALUES (tests.user_id('pia'), 'Pia private', 'private', now() + interval '1 second');
SELECT tests.authenticate_as('vic');
SELECT results_eq(format($$SELECT title FROM api.list_performer_streams(%L)$$, tests.user_id('pia')),
                  $$VALUES ('Pia live')$$, 'list_performer_streams: a viewer sees the public ones');
SELECT tests.authenticate_as('pia');
SELECT results_eq(format($$SELECT title FROM api.list_performer_streams(%L)$$, tests.user_id('pia')),
                  $$VALUES ('Pia private'), ('Pia live')$$, 'list_performer_streams: the performer sees all, newest first');
SELECT results_eq(format($$SELECT s.title FROM api.list_performer_streams(%L, p_limit => 1) AS f,
                                  api.list_performer_streams(%L, f.created_at, f.id, 1) AS s$$, tests.user_id('pia'), tests.user_id('pia')),
                  $$VALUES ('Pia live')$$, 'list_performer_streams: the next page starts after the last row');

SELECT * FROM finish();
ROLLBACK;
