-- Who is told a stream's event channel, and what a block does to it (docs/streams.md, "What a channel does not
-- keep out"). api.stream_channel tells a private or group stream's channel only to who may see the stream
-- (lp.stream_visible: its host, co-performers and staff): no viewer is ever told it, so no viewer blocked or
-- removed later holds it (api.join_stream takes public streams only). A public stream's channel is anyone's
-- signed in, a blocked viewer's too, and a block does not move it (a new name would be told to the next account
-- asking). The limit pinned: the name moves with the visibility only, so a co-performer taken off a private
-- stream is refused the channel but the name they were told stays the stream's (a per-stream epoch would need a
-- column).
BEGIN;
SELECT plan(9);

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

-- pia schedules a private, a group and a public stream, with cora as co-performer of the private one; vera is
-- a viewer.
DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('cora', 'performer');
    PERFORM tests.create_user('vera');
    PERFORM tests.authenticate_as('pia');
    PERFORM tests.remember('priv', (api.schedule_stream('pia private', p_visibility => 'private')).id);
    PERFORM tests.remember('grp', (api.schedule_stream('pia group', p_visibility => 'group')).id);
    PERFORM tests.remember('pub', (api.schedule_stream('pia public')).id);
    PERFORM api.add_stream_performer(tests.id('priv'), tests.user_id('cora'));
    PERFORM tests.clear_authentication();
END
$$;

-- == no viewer is told a non-public stream's channel ===========================================================
SELECT tests.authenticate_as('vera');
SELECT is(tests.code(format('SELECT api.stream_channel(%L)', tests.id('priv'))), 'LP003',
          'stream_channel: a viewer is not told a private stream''s channel');
SELECT is(tests.code(format('SELECT api.stream_channel(%L)', tests.id('grp'))), 'LP003',
          'stream_channel: a viewer is not told a group stream''s channel');
SELECT tests.put('pub_before', jsonb_build_object('ch', api.stream_channel(tests.id('pub'))));

-- == a block does not move a public stream's channel, nor keep the blocked viewer from it =======================
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format('SELECT api.block_viewer(%L)', tests.user_id('vera')), 'pia blocks vera');
SELECT tests.authenticate_as('vera');
SELECT is(api.stream_channel(tests.id('pub')), tests.get('pub_before', 'ch'),
          'stream_channel: a public stream''s channel is the same after a block, and told to the blocked viewer');
SELECT is(tests.code(format('SELECT * FROM api.stream_events(%L)', tests.id('pub'))), 'ok',
          'stream_events: the blocked viewer reads a public stream''s events (the block keeps her out of joins, tips, holds)');
SELECT is(tests.code(format('SELECT api.join_stream(%L)', tests.id('pub'))), 'LP104',
          'control: the stream is not live (a join is refused on its status here)');

-- == the limit: a co-performer taken off keeps the name they were told =========================================
SELECT tests.authenticate_as('cora');
SELECT tests.put('priv_cora', jsonb_build_object('ch', api.stream_channel(tests.id('priv'))));
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format('SELECT api.remove_stream_performer(%L, %L)', tests.id('priv'), tests.user_id('cora')),
                'pia takes cora off the private stream');
SELECT tests.authenticate_as('cora');
SELECT is(tests.code(format('SELECT api.stream_channel(%L)', tests.id('priv'))), 'LP003',
          'stream_channel: the co-performer taken off is refused the channel');
SELECT tests.authenticate_as('pia');
SELECT is(api.stream_channel(tests.id('priv')), tests.get('priv_cora', 'ch'),
          'documented limit: the private stream''s channel is still the name she was told (it moves with the visibility only)');
SELECT tests.clear_authentication();

SELECT * FROM finish();
ROLLBACK;
