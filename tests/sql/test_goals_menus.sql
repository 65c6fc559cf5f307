-- Tip menus and tip goals (issue 8, section 4): api.set_menu_item, api.list_menu, api.add_tip_goal,
-- api.cancel_tip_goal, api.stream_goals, api.settle_tip_goals, and what api.tip / api.tip_many do with a menu
-- item and a stream's active goal: the price rule, goal progress, reaching a goal exactly once, the queue, and
-- refund_if_missed goals whose tips wait in escrow and are paid out (reached) or back (missed, cancelled,
-- stream ended). Every refusal with its SQLSTATE and nothing changed; verify_ledger clean after every money path.
BEGIN;
SELECT plan(168);

-- Helpers of this file (SECURITY DEFINER: past RLS, whatever role acts):
--   tests.fund(username, n)
--   tests.goal(description) / tests.item(name)   ids by description / name
--   tests.balance(username)                       main balance + credit shards of a user's wallet
--   tests.escrow()                                the goal_escrow wallet's total
--   tests.snap() / tests.rejects(sql, sqlstate, description): raises sqlstate and nothing changed
--   tests.events(stream, kind)                    how many events of that kind the stream has
CREATE FUNCTION tests.goal(p_description text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT g.id FROM lp.tip_goals AS g WHERE g.description = p_description
$$;
CREATE FUNCTION tests.goal_status(p_description text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT g.status::text FROM lp.tip_goals AS g WHERE g.description = p_description
$$;
CREATE FUNCTION tests.item(p_name text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT i.id FROM lp.tip_menu_items AS i WHERE i.name = p_name
$$;
CREATE FUNCTION tests.balance(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)
      FROM lp.wallets AS w WHERE w.id = tests.wallet(p_username)
$$;
CREATE FUNCTION tests.escrow() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)
      FROM lp.wallets AS w WHERE w.system_code = 'goal_escrow'
$$;
CREATE FUNCTION tests.events(p_stream uuid, p_kind text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.stream_events AS e WHERE e.stream_id = p_stream AND e.kind::text = p_kind
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(concat_ws(',', g.id, g.position, g.description, g.target_tokens, g.deadline, g.refund_if_missed,
                                     g.status, g.activated_at, g.closed_at, g.close_reason, g.settled_at), ';' ORDER BY g.id)
           FROM lp.tip_goals AS g),
        (SELECT string_agg(concat_ws(',', p.goal_id, p.shard, p.tokens, p.tips), ';' ORDER BY p.goal_id, p.shard)
           FROM lp.tip_goal_progress AS p),
        (SELECT string_agg(concat_ws(',', i.id, i.name, i.price, i.is_active, i.updated_at), ';' ORDER BY i.id)
           FROM lp.tip_menu_items AS i),
        (SELECT string_agg(concat_ws(',', t.id, t.status, t.goal_id, t.menu_item_id, t.settlement_id), ';' ORDER BY t.id)
           FROM lp.tips AS t),
        'ledger ' || (SELECT count(*) FROM lp.ledger),
        'events ' || (SELECT count(*) FROM lp.stream_events),
        'audit ' || (SELECT count(*) FROM lp.audit_logs))
$$;
CREATE FUNCTION tests.settle() RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    SELECT * INTO r FROM api.settle_tip_goals();
    PERFORM tests.clear_authentication();
    RETURN concat_ws('/', r.tips_paid, r.tips_refunded, r.goals_reached, r.goals_missed);
END
$$;

DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');   -- host, verified
    PERFORM tests.create_user('paul', 'performer');  -- another performer, verified
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('val');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.approve_kyc('pia');
    PERFORM tests.approve_kyc('paul');
    PERFORM tests.fund('vic', 5000);
    PERFORM tests.fund('val', 5000);
    PERFORM tests.put('val', api.login('val', tests.password()));
    PERFORM tests.put('adam', api.login('adam', tests.password()));
    PERFORM tests.authenticate_as('pia');
    PERFORM tests.remember('s', (api.schedule_stream('Goals night')).id);
    PERFORM tests.remember('priv', (api.schedule_stream('Private', p_visibility => 'private')).id);
    PERFORM api.consent_to_stream(tests.id('s'), '203.0.113.1');
    PERFORM tests.authenticate_as('paul');
    PERFORM tests.remember('ps', (api.schedule_stream('Paul live')).id);
    PERFORM api.consent_to_stream(tests.id('ps'), '203.0.113.2');
    PERFORM api.start_stream(tests.id('ps'));
    PERFORM tests.clear_authentication();
END
$$;

-- == tip menus ================================================================================================
SELECT tests.authenticate_as('pia');
SELECT results_eq($$SELECT name, price, is_active FROM api.set_menu_item('Wave', 25)$$, $$VALUES ('Wave', 25::bigint, true)$$,
                  'set_menu_item: a performer adds an item');
SELECT isnt(api.set_menu_item('Dance', 200), NULL, 'and another');
SELECT isnt(api.set_menu_item('Retired', 99, p_is_active => false), NULL, 'and an inactive one');
SELECT * FROM tests.rejects($$SELECT api.set_menu_item('wave', 30)$$, 'LP018', 'set_menu_item: a name already on the menu (any case) is LP018');
SELECT * FROM tests.rejects($$SELECT api.set_menu_item('Free', 0)$$, 'LP103', 'set_menu_item: a price of 0 is LP103');
SELECT * FROM tests.rejects($$SELECT api.set_menu_item('Huge', 2000000)$$, 'LP103', 'set_menu_item: a price above tips.max_tokens is LP103');
SELECT * FROM tests.rejects($$SELECT api.set_menu_item('  ', 10)$$, 'LP018', 'set_menu_item: a blank name is LP018');
SELECT * FROM tests.rejects($$SELECT api.set_menu_item('Wave', 10, gen_random_uuid())$$, 'LP003', 'set_menu_item: an unknown item is LP003');
SELECT results_eq(format($$SELECT price, updated_at >= created_at FROM api.set_menu_item('Wave', 30, %L)$$, tests.item('Wave')),
                  $$VALUES (30::bigint, true)$$, 'set_menu_item: the performer changes an item''s price');
SELECT tests.clear_authentication();
SELECT results_eq(format($$SELECT (details ->> 'price')::bigint, (details ->> 'old_price')::bigint FROM lp.audit_logs
                            WHERE action = 'menu.set' AND target_id = %L ORDER BY (details ->> 'price')::bigint$$, tests.item('Wave')),
                  $$VALUES (25::bigint, NULL::bigint), (30::bigint, 25::bigint)$$, 'set_menu_item: audited (menu.set), with the old price');
SELECT tests.authenticate_as('pia');
SELECT results_eq(format($$SELECT name FROM api.list_menu(%L)$$, tests.user_id('pia')), $$VALUES ('Wave'), ('Dance'), ('Retired')$$,
                  'list_menu: the performer sees the whole menu, active items first, cheapest first');
SELECT tests.authenticate_as('paul');
SELECT * FROM tests.rejects(format($$SELECT api.set_menu_item('Mine', 10, %L)$$, tests.item('Wave')), 'LP003',
                            'set_menu_item: another performer''s item is LP003');
SELECT tests.authenticate_as('vic');
SELECT results_eq(format($$SELECT name, price FROM api.list_menu(%L)$$, tests.user_id('pia')), $$VALUES ('Wave', 30::bigint), ('Dance', 200::bigint)$$,
                  'list_menu: a viewer sees the active items only');
SELECT * FROM tests.rejects($$SELECT api.set_menu_item('Mine', 10)$$, 'LP002', 'set_menu_item: a viewer is LP002');
SELECT tests.clear_authentication();
SELECT throws_ok(format($$SELECT * FROM api.list_menu(%L)$$, tests.user_id('pia')), 'LP001', NULL, 'list_menu: nobody acting is LP001');
UPDATE lp.settings SET value = '3' WHERE key = 'menus.max_items';
SELECT tests.authenticate_as('pia');
SELECT isnt(api.set_menu_item('Spin', 15), NULL, 'a third active item');
SELECT * FROM tests.rejects($$SELECT api.set_menu_item('Fourth', 15)$$, 'LP018', 'set_menu_item: beyond menus.max_items active items is LP018');
SELECT * FROM tests.rejects(format($$SELECT api.set_menu_item('Retired', 99, %L)$$, tests.item('Retired')), 'LP018',
                            'set_menu_item: reactivating an item on a full menu is LP018');
SELECT lives_ok(format($$SELECT api.set_menu_item('Spin', 15, %L, false)$$, tests.item('Spin')), 'deactivating one makes room');
SELECT tests.clear_authentication();
SELECT throws_ok(format($$DELETE FROM lp.tip_menu_items WHERE id = %L$$, tests.item('Spin')), 'LP090', NULL,
                 'menu items are never deleted, not even by the owner');

-- == goals: adding, the queue, visibility ====================================================================
SELECT tests.authenticate_as('pia');
SELECT results_eq(format($$SELECT position, status::text FROM api.add_tip_goal(%L, 100, 'Dance', now() + interval '1 hour', true)$$, tests.id('s')),
                  $$VALUES (1, 'queued')$$, 'add_tip_goal: on a scheduled stream the first goal waits (queued)');
SELECT results_eq(format($$SELECT position, status::text FROM api.add_tip_goal(%L, 50, 'Song')$$, tests.id('s')),
                  $$VALUES (2, 'queued')$$, 'add_tip_goal: the next one queues behind it');
SELECT * FROM tests.rejects(format($$SELECT api.add_tip_goal(%L, 50, 'No deadline', NULL, true)$$, tests.id('s')), 'LP018',
                            'add_tip_goal: refund_if_missed without a deadline is LP018');
SELECT * FROM tests.rejects(format($$SELECT api.add_tip_goal(%L, 50, 'Past', now() - interval '1 minute')$$, tests.id('s')), 'LP018',
                            'add_tip_goal: a deadline in the past is LP018');
SELECT * FROM tests.rejects(format($$SELECT api.add_tip_goal(%L, 0, 'Zero')$$, tests.id('s')), 'LP103', 'add_tip_goal: a target of 0 is LP103');
SELECT * FROM tests.rejects(format($$SELECT api.add_tip_goal(%L, 10, '')$$, tests.id('s')), 'LP018', 'add_tip_goal: no description is LP018');
SELECT * FROM tests.rejects(format($$SELECT api.add_tip_goal(%L, 10, 'Not mine')$$, tests.id('ps')), 'LP002', 'add_tip_goal: another host''s stream is LP002');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.add_tip_goal(%L, 10, 'Viewer')$$, tests.id('s')), 'LP002', 'add_tip_goal: a viewer is LP002');
SELECT * FROM tests.rejects(format($$SELECT * FROM api.stream_goals(%L)$$, tests.id('priv')), 'LP003',
                            'stream_goals: a private stream of someone else is LP003');
SELECT results_eq(format($$SELECT description, progress_tokens, status FROM api.stream_goals(%L)$$, tests.id('s')),
                  $$VALUES ('Dance', 0::bigint, 'queued'), ('Song', 0::bigint, 'queued')$$, 'stream_goals: the queue, in order, for a viewer');
-- A tip before the stream is live counts toward nothing.
SELECT tests.authenticate_as('pia');
SELECT is((api.start_stream(tests.id('s'))).status, 'live', 'the stream goes live');
SELECT is(tests.goal_status('Dance'), 'active', 'start_stream: the first queued goal becomes active');
SELECT is(tests.events(tests.id('s'), 'goal_started'), 1::bigint, 'with a goal_started event');

-- == menu tips ================================================================================================
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 31, 'menu-1', %L, p_menu_item_id => %L)$$, tests.user_id('pia'), tests.id('s'), tests.item('Wave')),
                            'LP127', 'tip: a menu item paid at another amount is LP127');
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 99, 'menu-1', %L, p_menu_item_id => %L)$$, tests.user_id('pia'), tests.id('s'), tests.item('Retired')),
                            'LP003', 'tip: an inactive menu item is LP003 to a viewer (listed to its performer and staff only: not found, as an unknown id)');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 99, 'menu-1', %L, p_menu_item_id => %L)$$, tests.user_id('pia'), tests.id('s'), tests.item('Retired')),
                            'LP126', 'tip: an inactive menu item is LP126 to staff (who see it)');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 30, 'menu-1', %L, p_menu_item_id => gen_random_uuid())$$, tests.user_id('pia'), tests.id('s')),
                            'LP003', 'tip: an unknown menu item is LP003');
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 30, 'menu-1', %L, p_menu_item_id => %L)$$, tests.user_id('paul'), tests.id('ps'), tests.item('Wave')),
                            'LP003', 'tip: another performer''s menu item is LP003');
SELECT results_eq(format($$SELECT amount, menu_item_id, status FROM api.tip(%L, 30, 'menu-1', %L, p_menu_item_id => %L)$$,
                         tests.user_id('pia'), tests.id('s'), tests.item('Wave')),
                  format($$VALUES (30::bigint, %L::uuid, 'escrowed')$$, tests.item('Wave')),
                  'tip: a menu item at its price; toward the refund_if_missed goal it waits in escrow');
SELECT is((api.tip(tests.user_id('pia'), 30, 'menu-1', tests.id('s'), p_menu_item_id => tests.item('Wave'))).status, 'escrowed',
          'tip: a retry with the same key and item returns the tip');
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 30, 'menu-1', %L)$$, tests.user_id('pia'), tests.id('s')),
                            'LP106', 'tip: the same key without the item is LP106');
SELECT tests.clear_authentication();
SELECT results_eq(format($$SELECT kind::text, payload ->> 'item', (payload ->> 'goal_progress')::bigint FROM lp.stream_events
                            WHERE stream_id = %L AND kind IN ('tip', 'menu_item') ORDER BY id$$, tests.id('s')),
                  $$VALUES ('menu_item', 'Wave', 30::bigint)$$, 'the stream''s events: menu_item, with the item and the goal''s progress');

-- == a refund_if_missed goal reached: escrow paid out, exactly once ============================================
SELECT is(tests.escrow(), 30::bigint, 'the escrow holds the tip toward the goal');
SELECT is(tests.balance('pia'), 0::bigint, 'and the performer has nothing yet');
SELECT tests.authenticate_as('vic');
SELECT is((api.tip(tests.user_id('pia'), 50, 'g-1', tests.id('s'))).goal_id, tests.goal('Dance'), 'tip: a tip into the stream counts toward the active goal');
SELECT tests.clear_authentication();
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean with tips in escrow');
SELECT is(tests.goal_status('Dance'), 'active', '80 of 100: still active');
SELECT tests.authenticate_as('val');
SELECT results_eq($$SELECT progress_tokens, tips_count FROM api.stream_goals(tests.id('s')) WHERE description = 'Dance'$$,
                  $$VALUES (80::bigint, 2)$$, 'stream_goals: progress and tips counted');
SELECT is((SELECT count(*) FROM api.tip_many(jsonb_build_array(
              jsonb_build_object('session_token', tests.get('val', 'token'), 'recipient_id', tests.user_id('pia'), 'amount', 30,
                                 'idempotency_key', 'm-1', 'stream_id', tests.id('s'), 'menu_item_id', tests.item('Wave')),
              jsonb_build_object('session_token', tests.get('val', 'token'), 'recipient_id', tests.user_id('pia'), 'amount', 31,
                                 'idempotency_key', 'm-2', 'stream_id', tests.id('s'), 'menu_item_id', tests.item('Wave'))))
           WHERE error_code IS NULL), 1::bigint, 'tip_many: the menu tip at its price is applied');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT error_code, error_message FROM api.tip_many(jsonb_build_array(
                      jsonb_build_object('session_token', tests.get('val', 'token'), 'recipient_id', tests.user_id('pia'), 'amount', 99,
                                         'idempotency_key', 'm-3', 'menu_item_id', tests.item('Retired')),
                      jsonb_build_object('session_token', tests.get('val', 'token'), 'recipient_id', tests.user_id('pia'), 'amount', 31,
                                         'idempotency_key', 'm-4', 'menu_item_id', tests.item('Wave')),
                      jsonb_build_object('session_token', tests.get('val', 'token'), 'recipient_id', tests.user_id('paul'), 'amount', 30,
                                         'idempotency_key', 'm-5', 'menu_item_id', tests.item('Wave'))))$$,
                  $$VALUES ('LP003', 'menu item not found'), ('LP127', 'a menu item is paid at its price'),
                           ('LP003', 'menu item not found')$$, 'tip_many: the menu refusals, in-band (an inactive item is not found by a viewer)');
SELECT results_eq($$SELECT error_code FROM api.tip_many(jsonb_build_array(
                      jsonb_build_object('session_token', tests.get('adam', 'token'), 'recipient_id', tests.user_id('pia'), 'amount', 99,
                                         'idempotency_key', 'm-6', 'menu_item_id', tests.item('Retired'))))$$,
                  $$VALUES ('LP126')$$, 'tip_many: an inactive item is LP126 to staff (who see it)');
SELECT is(tests.goal_status('Dance'), 'reached', 'the batch crossed the target: reached');
SELECT is(tests.goal_status('Song'), 'active', 'and the next goal is active');
SELECT is(tests.events(tests.id('s'), 'goal_reached'), 1::bigint, 'one goal_reached event');
SELECT is(tests.escrow(), 110::bigint, 'the escrow still holds the three tips (paid out by the settle job)');
SELECT is(tests.settle(), '3/0/0/0', 'settle_tip_goals: the three escrowed tips are paid out');
SELECT is(tests.escrow(), 0::bigint, 'the escrow is empty');
SELECT is(tests.balance('pia'), 88::bigint, 'the performer got 110 less the 20 % fee, per tip rounded down (24 + 40 + 24)');
SELECT is((SELECT count(*) FROM lp.tips WHERE goal_id = tests.goal('Dance') AND status = 'completed' AND settlement_id IS NOT NULL),
          3::bigint, 'each tip completed with its settlement transaction');
SELECT is(tests.settle(), '0/0/0/0', 'settle_tip_goals again: nothing to do (never paid twice)');
SELECT is(tests.events(tests.id('s'), 'goal_reached'), 1::bigint, 'still one goal_reached event');
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean after the payout');

-- == a goal without refund: tips go straight to the performer =================================================
SELECT tests.authenticate_as('vic');
SELECT results_eq(format($$SELECT status, goal_id FROM api.tip(%L, 20, 'song-1', %L)$$, tests.user_id('pia'), tests.id('s')),
                  format($$VALUES ('completed', %L::uuid)$$, tests.goal('Song')), 'tip: toward a goal without refund, completed at once');
SELECT tests.clear_authentication();
SELECT is(tests.balance('pia'), 104::bigint, 'and paid to the performer (20 less 4)');

-- == a refund_if_missed goal missed at its deadline: tips go back ===========================================
SELECT tests.authenticate_as('pia');
SELECT isnt(api.add_tip_goal(tests.id('s'), 1000, 'Marathon', now() + interval '1 hour', true), NULL, 'a third goal queues');
SELECT tests.authenticate_as('vic');
SELECT is((api.tip(tests.user_id('pia'), 30, 'song-2', tests.id('s'))).goal_id, tests.goal('Song'), 'the Song goal takes the tip');
SELECT tests.clear_authentication();
SELECT is(tests.goal_status('Song'), 'reached', 'Song reached (50 of 50)');
SELECT is(tests.goal_status('Marathon'), 'active', 'Marathon is active');
SELECT tests.put('vic', jsonb_build_object('before', tests.balance('vic')));
SELECT tests.authenticate_as('vic');
SELECT is((api.tip(tests.user_id('pia'), 100, 'mar-1', tests.id('s'))).status, 'escrowed', 'a tip toward Marathon waits in escrow');
SELECT tests.authenticate_as('val');
SELECT is((api.tip(tests.user_id('pia'), 60, 'mar-2', tests.id('s'), 'go!', true)).status, 'escrowed', 'an anonymous one too');
SELECT tests.clear_authentication();
UPDATE lp.tip_goals SET deadline = now() - interval '1 second' WHERE description = 'Marathon';
SELECT tests.authenticate_as('vic');
SELECT results_eq(format($$SELECT status, goal_id FROM api.tip(%L, 10, 'mar-3', %L)$$, tests.user_id('pia'), tests.id('s')),
                  $$VALUES ('completed', NULL::uuid)$$, 'past its deadline the goal takes no more tips');
SELECT tests.clear_authentication();
SELECT is(tests.settle(), '0/0/0/1', 'settle_tip_goals: the goal past its deadline is missed');
SELECT results_eq($$SELECT status::text, close_reason FROM lp.tip_goals WHERE description = 'Marathon'$$,
                  $$VALUES ('missed', 'deadline passed')$$, 'missed, with the reason');
SELECT is(tests.events(tests.id('s'), 'goal_missed'), 1::bigint, 'a goal_missed event');
SELECT is(tests.settle(), '0/2/0/0', 'settle_tip_goals: the two escrowed tips are paid back');
SELECT is(tests.balance('vic'), (tests.get('vic', 'before'))::bigint - 10, 'vic got his 100 back (only the late 10 stayed spent)');
SELECT is((SELECT count(*) FROM lp.tips WHERE goal_id = tests.goal('Marathon') AND status = 'refunded'), 2::bigint, 'both tips refunded');
SELECT is(tests.escrow(), 0::bigint, 'the escrow is empty again');
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean after the refunds');

-- == cancel ===================================================================================================
SELECT tests.authenticate_as('pia');
SELECT isnt(api.add_tip_goal(tests.id('s'), 500, 'Cancelled', now() + interval '1 hour', true), NULL, 'a goal to cancel');
SELECT isnt(api.add_tip_goal(tests.id('s'), 500, 'Queued cancel'), NULL, 'and one behind it');
SELECT tests.authenticate_as('vic');
SELECT is((api.tip(tests.user_id('pia'), 40, 'can-1', tests.id('s'))).status, 'escrowed', 'a tip toward it waits in escrow');
SELECT * FROM tests.rejects(format($$SELECT api.cancel_tip_goal(%L)$$, tests.goal('Cancelled')), 'LP002', 'cancel_tip_goal: a viewer is LP002');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format($$SELECT api.cancel_tip_goal(%L)$$, tests.goal('Cancelled')), 'LP018', 'cancel_tip_goal: an admin without a reason is LP018');
SELECT * FROM tests.rejects($$SELECT api.cancel_tip_goal(gen_random_uuid(), 'x')$$, 'LP003', 'cancel_tip_goal: an unknown goal is LP003');
SELECT tests.authenticate_as('pia');
SELECT is((api.cancel_tip_goal(tests.goal('Cancelled'), 'changed my mind')).status::text, 'cancelled', 'cancel_tip_goal: the host cancels the active goal');
SELECT is(tests.goal_status('Queued cancel'), 'active', 'the next goal becomes active');
SELECT * FROM tests.rejects(format($$SELECT api.cancel_tip_goal(%L)$$, tests.goal('Cancelled')), 'LP004', 'cancel_tip_goal: a closed goal is LP004');
SELECT * FROM tests.rejects(format($$SELECT api.cancel_tip_goal(%L)$$, tests.goal('Dance')), 'LP004', 'cancel_tip_goal: a reached goal is LP004');
SELECT tests.clear_authentication();
SELECT is(tests.settle(), '0/1/0/0', 'settle_tip_goals: the cancelled goal''s tip goes back');
SELECT is(tests.events(tests.id('s'), 'goal_cancelled'), 1::bigint, 'a goal_cancelled event');

-- == the stream ends: the active goal is missed (refunded), the queued ones cancelled =========================
SELECT tests.authenticate_as('pia');
SELECT isnt(api.add_tip_goal(tests.id('s'), 900, 'Last', now() + interval '1 hour', true), NULL, 'a queued goal');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format($$SELECT api.cancel_tip_goal(%L, 'policy')$$, tests.goal('Queued cancel')), 'an admin cancels a goal with a reason');
SELECT is(tests.goal_status('Last'), 'active', 'Last is active');
SELECT tests.authenticate_as('val');
SELECT is((api.tip(tests.user_id('pia'), 70, 'last-1', tests.id('s'))).status, 'escrowed', 'a tip toward it');
SELECT tests.authenticate_as('pia');
SELECT isnt(api.add_tip_goal(tests.id('s'), 900, 'Never'), NULL, 'one more queued');
SELECT is((api.end_stream(tests.id('s'))).status, 'ended', 'the host ends the stream');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT description, status::text, close_reason FROM lp.tip_goals WHERE description IN ('Last', 'Never') ORDER BY position$$,
                  $$VALUES ('Last', 'missed', 'stream ended'), ('Never', 'cancelled', 'stream ended')$$,
                  'end_stream: the active goal is missed, the queued one cancelled');
SELECT is(tests.settle(), '0/1/0/0', 'settle_tip_goals: its escrowed tip goes back');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format($$SELECT api.add_tip_goal(%L, 10, 'After')$$, tests.id('s')), 'LP004', 'add_tip_goal: an ended stream is LP004');
SELECT tests.clear_authentication();

-- == the job: a crossing no tip closed, limits, who may run it ==============================================
SELECT tests.authenticate_as('paul');
SELECT isnt(api.add_tip_goal(tests.id('ps'), 100, 'Crossed'), NULL, 'paul''s live stream gets a goal, active at once');
SELECT is(tests.goal_status('Crossed'), 'active', 'active at once on a live stream');
SELECT tests.clear_authentication();
-- Two tips crossing at once each see only their own tokens: as if the progress rows said 120 and no tip closed it.
UPDATE lp.tip_goal_progress SET tokens = 60 WHERE goal_id = tests.goal('Crossed') AND shard IN (1, 2);
SELECT is(tests.settle(), '0/0/1/0', 'settle_tip_goals: a goal past its target that no tip closed is reached');
SELECT is(tests.events(tests.id('ps'), 'goal_reached'), 1::bigint, 'with its event');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok($$SELECT * FROM api.settle_tip_goals(0)$$, 'LP018', NULL, 'settle_tip_goals: a limit of 0 is LP018');
SELECT tests.authenticate_as('adam');
SELECT throws_ok($$SELECT * FROM api.settle_tip_goals()$$, '42501', NULL, 'settle_tip_goals: not granted to the application login');
SELECT tests.clear_authentication();
UPDATE lp.settings SET value = '2' WHERE key = 'goals.max_per_stream';
SELECT tests.authenticate_as('paul');
SELECT isnt(api.add_tip_goal(tests.id('ps'), 10, 'Second'), NULL, 'a second goal');
SELECT * FROM tests.rejects(format($$SELECT api.add_tip_goal(%L, 10, 'Third')$$, tests.id('ps')), 'LP018', 'add_tip_goal: beyond goals.max_per_stream is LP018');
SELECT tests.clear_authentication();
-- A crossing no tip closed and the stream ends before the job runs: the end sees the progress.
UPDATE lp.tip_goal_progress SET tokens = 10 WHERE goal_id = tests.goal('Second') AND shard = 3;
SELECT tests.authenticate_as('paul');
SELECT is((api.end_stream(tests.id('ps'))).status, 'ended', 'paul ends his stream');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT status::text, close_reason FROM lp.tip_goals WHERE description = 'Second'$$,
                  $$VALUES ('reached', NULL::text)$$, 'end_stream: an active goal whose progress got to its target is reached, not missed');
SELECT results_eq($$SELECT description, status::text, closed_by FROM lp.tip_goals
                     WHERE description IN ('Song', 'Marathon', 'Cancelled', 'Queued cancel', 'Last', 'Never', 'Crossed', 'Second')
                     ORDER BY description$$,
                  $$VALUES ('Cancelled', 'cancelled', 'host'), ('Crossed', 'reached', 'system'), ('Last', 'missed', 'system'),
                           ('Marathon', 'missed', 'system'), ('Never', 'cancelled', 'system'), ('Queued cancel', 'cancelled', 'admin'),
                           ('Second', 'reached', 'system'), ('Song', 'reached', 'system')$$,
                  'who closed each goal is on its row (closed_by): the host''s and an admin''s cancels, the system''s closes'
                  || ' (reached by a tip, by the job or at the stream''s end; missed past the deadline or at the end; queued at the end)');
SELECT tests.authenticate_as('adam');
SELECT throws_ok($$SELECT api.set_setting('menus.max_items', '0')$$, 'LP092', NULL, 'set_setting: menus.max_items 0 is out of range');
SELECT throws_ok($$SELECT api.set_setting('goals.max_per_stream', '1001')$$, 'LP092', NULL, 'set_setting: goals.max_per_stream above 1000 is out of range');
SELECT tests.clear_authentication();
-- A goal reached, its escrow paid out only after the stream ended: the payout joins the final statistics.
SELECT tests.authenticate_as('pia');
SELECT tests.remember('s3', (api.schedule_stream('Late payout')).id);
SELECT lives_ok(format($$SELECT api.consent_to_stream(%L, '203.0.113.1')$$, tests.id('s3')), 'pia consents to a third stream');
SELECT isnt(api.add_tip_goal(tests.id('s3'), 100, 'Late', now() + interval '1 hour', true), NULL, 'with a refund_if_missed goal');
SELECT is((api.start_stream(tests.id('s3'))).status, 'live', 'it goes live');
SELECT tests.authenticate_as('vic');
SELECT is((api.tip(tests.user_id('pia'), 100, 'late-1', tests.id('s3'))).status, 'escrowed', 'a tip reaches the goal (in escrow)');
SELECT tests.authenticate_as('pia');
SELECT is((api.end_stream(tests.id('s3'))).tips_count, 0::bigint, 'the stream ends before the payout: no completed tip yet');
SELECT tests.clear_authentication();
SELECT is(tests.settle(), '1/0/0/0', 'the settle job pays the tip out');
SELECT results_eq($$SELECT tips_count, tips_tokens FROM lp.streams WHERE title = 'Late payout'$$, $$VALUES (1::bigint, 100::bigint)$$,
                  'the payout joined the ended stream''s final statistics');
-- The payee rule at payout time: a performer suspended since the goal was reached waits; banned for good, the
-- tips go back.
SELECT tests.authenticate_as('pia');
SELECT tests.remember('s4', (api.schedule_stream('Banned payout')).id);
SELECT lives_ok(format($$SELECT api.consent_to_stream(%L, '203.0.113.1')$$, tests.id('s4')), 'a fourth stream');
SELECT isnt(api.add_tip_goal(tests.id('s4'), 100, 'Held', now() + interval '1 hour', true), NULL, 'with a refund_if_missed goal');
SELECT is((api.start_stream(tests.id('s4'))).status, 'live', 'live');
SELECT tests.authenticate_as('vic');
SELECT is((api.tip(tests.user_id('pia'), 100, 'held-1', tests.id('s4'))).status, 'escrowed', 'the goal is reached (in escrow)');
SELECT tests.clear_authentication();
INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, ends_at) VALUES (tests.user_id('pia'), 'suspension', 'review', now() + interval '1 day');
SELECT is(tests.settle(), '0/0/0/0', 'settle_tip_goals: a suspended performer is not paid now: the tip waits in escrow');
SELECT is((SELECT status FROM lp.tips WHERE idempotency_key = 'held-1'), 'escrowed', 'still escrowed');
UPDATE lp.user_sanctions SET revoked_at = now(), revoke_reason = 'ok' WHERE user_id = tests.user_id('pia') AND revoked_at IS NULL;
INSERT INTO lp.user_sanctions (user_id, sanction_type, reason) VALUES (tests.user_id('pia'), 'ban', 'fraud');
SELECT is(tests.settle(), '0/1/0/0', 'banned for good: the tip goes back to its sender');

-- == the job's safety net: a queued goal left behind no active one (a close that raced an add) =============
SELECT tests.authenticate_as('paul');
SELECT tests.remember('ps2', (api.schedule_stream('Paul again')).id);
SELECT lives_ok(format($$SELECT api.consent_to_stream(%L, '203.0.113.2')$$, tests.id('ps2')), 'paul consents to a second stream');
SELECT is((api.start_stream(tests.id('ps2'))).status, 'live', 'and goes live');
SELECT is((api.add_tip_goal(tests.id('ps2'), 10, 'Ahead')).status::text, 'active', 'a goal, active at once');
SELECT is((api.add_tip_goal(tests.id('ps2'), 10, 'Stuck')).status::text, 'queued', 'a goal queued behind it');
SELECT tests.remember('later', (api.schedule_stream('Paul later')).id);
SELECT is((api.add_tip_goal(tests.id('later'), 10, 'Later')).status::text, 'queued', 'a goal on a scheduled stream');
SELECT tests.clear_authentication();
-- What a cancel racing the add left before closers took the stream row first: Ahead closed, nothing activated.
UPDATE lp.tip_goals SET status = 'cancelled', closed_at = now(), close_reason = 'lost race' WHERE description = 'Ahead';
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is((SELECT row(t.*)::text FROM api.settle_tip_goals() AS t), '(0,0,0,0,1)',
          'settle_tip_goals: nothing to settle or close, one goal activated (goals_activated)');
SELECT tests.clear_authentication();
SELECT is(tests.goal_status('Stuck'), 'active', 'but the queued goal of a live stream without an active goal becomes active');
SELECT is((SELECT count(*) FROM lp.stream_events WHERE kind = 'goal_started' AND payload ->> 'goal_id' = tests.goal('Stuck')::text),
          1::bigint, 'with its goal_started event');
SELECT is((SELECT count(*) FROM lp.tip_goal_progress WHERE goal_id = tests.goal('Stuck')),
          (lp.setting('streams.counter_shards'))::bigint, 'and its progress rows');
SELECT is(tests.goal_status('Later'), 'queued', 'a queued goal of a scheduled stream stays queued');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is((SELECT row(t.*)::text FROM api.settle_tip_goals() AS t), '(0,0,0,0,0)',
          'settle_tip_goals again: nothing activated (the queue has its active goal)');
SELECT tests.clear_authentication();
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean at the end');

SELECT * FROM finish();
ROLLBACK;
