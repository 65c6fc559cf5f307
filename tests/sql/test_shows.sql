-- Shows billed per minute through holds (issue 8, section 3): api.set_show_price, api.request_show,
-- api.answer_show, api.offer_show, api.join_show, api.start_show, api.leave_show, api.end_show,
-- api.stream_shows, api.bill_shows, api.refund_show. Every refusal with its SQLSTATE and nothing changed; who pays
-- what when who ends a show; the billing job never bills a minute twice; verify_ledger clean after every path.
--
-- The file is one transaction, so now() does not move: elapsed time is made by moving a show's start (and its
-- viewers' billing start) into the past (tests.age).
BEGIN;
SELECT plan(240);

-- Helpers of this file (SECURITY DEFINER: past RLS):
--   tests.fund(username, n)
--   tests.age(show, seconds)       the show started that many seconds earlier (its viewers' billing too)
--   tests.bill()                   api.bill_shows as the billing job until it has nothing left; 'steps/captured/released'
--   tests.part(show, username)     'role billed/due settled' of a viewer's part in a show
--   tests.reserved(username), tests.available(username)
--   tests.snap() / tests.rejects(sql, sqlstate, description): raises sqlstate and nothing changed
CREATE FUNCTION tests.age(p_show uuid, p_seconds integer) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.shows SET started_at = started_at - make_interval(secs => p_seconds) WHERE id = p_show;
    UPDATE lp.show_participants SET billed_from = billed_from - make_interval(secs => p_seconds)
     WHERE show_id = p_show AND billed_from IS NOT NULL AND left_at IS NULL;
$$;
CREATE FUNCTION tests.bill() RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_steps integer := 0;
    v_take  bigint := 0;
    v_free  bigint := 0;
    r       record;
BEGIN
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    LOOP
        SELECT * INTO r FROM api.bill_shows();
        EXIT WHEN r.show_id IS NULL;
        v_steps := v_steps + 1;
        v_take := v_take + r.captured;
        v_free := v_free + r.released;
        EXIT WHEN v_steps > 100;
    END LOOP;
    PERFORM tests.clear_authentication();
    RETURN concat_ws('/', v_steps, v_take, v_free);
END
$$;
CREATE FUNCTION tests.part(p_show uuid, p_username text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(' ', p.role, p.billed_tokens || '/' || coalesce(p.due_tokens::text, '-'),
                     CASE WHEN p.settled_at IS NOT NULL THEN 'settled' END)
      FROM lp.show_participants AS p WHERE p.show_id = p_show AND p.user_id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.total(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)
      FROM lp.wallets AS w WHERE w.id = tests.wallet(p_username)
$$;
CREATE FUNCTION tests.show_status(p_show uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws('|', s.status, s.ended_by, s.end_reason) FROM lp.shows AS s WHERE s.id = p_show
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(concat_ws(',', p.performer_id, p.show_type, p.rate, p.spy_rate, p.min_minutes, p.is_enabled), ';'
                           ORDER BY p.performer_id, p.show_type) FROM lp.show_prices AS p),
        (SELECT string_agg(concat_ws(',', s.id, s.status, s.started_at, s.ended_at, s.refunded_at), ';' ORDER BY s.id) FROM lp.shows AS s),
        (SELECT string_agg(concat_ws(',', p.id, p.left_at, p.due_tokens, p.billed_tokens, p.settled_at), ';' ORDER BY p.id)
           FROM lp.show_participants AS p),
        (SELECT string_agg(concat_ws(',', h.id, h.amount, h.captured, h.status), ';' ORDER BY h.id) FROM lp.holds AS h),
        (SELECT string_agg(concat_ws(',', w.id, w.balance, w.reserved), ';' ORDER BY w.id) FROM lp.wallets AS w),
        'ledger ' || (SELECT count(*) FROM lp.ledger),
        'events ' || (SELECT count(*) FROM lp.stream_events))
$$;

DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');   -- host, verified, prices set below
    PERFORM tests.create_user('paul', 'performer');  -- verified, live, no price
    PERFORM tests.create_user('vic');                -- rich viewer
    PERFORM tests.create_user('val');                -- rich viewer
    PERFORM tests.create_user('wes');                -- rich viewer
    PERFORM tests.create_user('pip');                -- poor viewer: 50 tokens
    PERFORM tests.create_user('bob');                -- blocked by pia
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.approve_kyc('pia');
    PERFORM tests.approve_kyc('paul');
    PERFORM tests.fund(u, 5000) FROM unnest(ARRAY['vic', 'val', 'wes', 'bob']) AS u;
    PERFORM tests.fund('pip', 50);
    PERFORM tests.authenticate_as('pia');
    PERFORM tests.remember('s', (api.schedule_stream('Show night')).id);
    PERFORM api.consent_to_stream(tests.id('s'), '203.0.113.1');
    PERFORM api.start_stream(tests.id('s'));
    PERFORM api.block_viewer(tests.user_id('bob'));
    PERFORM tests.authenticate_as('paul');
    PERFORM tests.remember('ps', (api.schedule_stream('Paul live')).id);
    PERFORM api.consent_to_stream(tests.id('ps'), '203.0.113.2');
    PERFORM api.start_stream(tests.id('ps'));
    PERFORM tests.authenticate_as('vic');
    PERFORM api.join_stream(tests.id('s'));
    PERFORM api.join_stream(tests.id('ps'));
    PERFORM tests.authenticate_as('val');
    PERFORM api.join_stream(tests.id('s'));
    PERFORM tests.authenticate_as('wes');
    PERFORM api.join_stream(tests.id('s'));
    PERFORM tests.authenticate_as('pip');
    PERFORM api.join_stream(tests.id('s'));
    PERFORM tests.clear_authentication();
END
$$;

-- == prices ===================================================================================================
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects($$SELECT api.set_show_price('private', 30)$$, 'LP002', 'set_show_price: a viewer is LP002');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects($$SELECT api.set_show_price('striptease', 30)$$, 'LP018', 'set_show_price: an unknown show type is LP018');
SELECT * FROM tests.rejects($$SELECT api.set_show_price('private', 20000)$$, 'LP103', 'set_show_price: above shows.max_rate is LP103');
SELECT * FROM tests.rejects($$SELECT api.set_show_price('group', 10, 5, 3)$$, 'LP018', 'set_show_price: a spy rate on a group show is LP018');
SELECT * FROM tests.rejects($$SELECT api.set_show_price('group', 10, 5)$$, 'LP018', 'set_show_price: a group show without its minimum participants is LP018');
SELECT * FROM tests.rejects($$SELECT api.set_show_price('private', 30, 0)$$, 'LP018', 'set_show_price: a minimum of 0 minutes is LP018');
SELECT results_eq($$SELECT show_type::text, rate, spy_rate, min_minutes FROM api.set_show_price('private', 30, 2, 10)$$,
                  $$VALUES ('private', 30::bigint, 10::bigint, 2)$$, 'set_show_price: a private show at 30 a minute, spies 10, at least 2 minutes');
SELECT isnt(api.set_show_price('group', 10, 3, NULL, 2), NULL, 'a group show at 10 a minute, at least 3 minutes and 2 viewers');
SELECT isnt(api.set_show_price('ticket', 100), NULL, 'a ticket show at 100');

-- == a private show: request, refusals, accept ================================================================
SELECT tests.authenticate_as('wes');
SELECT * FROM tests.rejects(format($$SELECT api.request_show(%L, 'r-wes')$$, tests.id('ps')), 'LP123',
                            'request_show: not watching the stream is LP123');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.request_show(%L, 'r-paul')$$, tests.id('ps')), 'LP128',
                            'request_show: a performer without a private show price is LP128');
SELECT tests.authenticate_as('pip');
SELECT * FROM tests.rejects(format($$SELECT api.request_show(%L, 'r-pip')$$, tests.id('s')), 'LP100',
                            'request_show: not enough tokens for the minimum duration is LP100');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format($$SELECT api.request_show(%L, 'r-pia')$$, tests.id('s')), 'LP018',
                            'request_show: the host of the stream is LP018');
SELECT tests.authenticate_as('vic');
SELECT tests.remember('p1', (api.request_show(tests.id('s'), 'r-1')).id);
SELECT is(tests.show_status(tests.id('p1')), 'requested', 'request_show: the request waits for the host');
SELECT is(tests.reserved('vic'), 60::bigint, 'the minimum duration (2 x 30) is reserved');
SELECT is((api.request_show(tests.id('s'), 'r-1')).id, tests.id('p1'), 'request_show: a retry with the same key returns the request');
SELECT * FROM tests.rejects(format($$SELECT api.request_show(%L, 'r-1')$$, tests.id('ps')), 'LP106',
                            'request_show: the same key for another stream is LP106');
SELECT * FROM tests.rejects(format($$SELECT api.request_show(%L, 'r-2')$$, tests.id('s')), 'LP004',
                            'request_show: a second request in the same stream is LP004');
SELECT tests.authenticate_as('val');
SELECT * FROM tests.rejects(format($$SELECT api.join_show(%L, 'spy-early')$$, tests.id('p1')), 'LP003',
                            'join_show: another viewer''s request, not running yet, is not found (lp.show_visible): LP003');
SELECT * FROM tests.rejects(format($$SELECT api.answer_show(%L, true)$$, tests.id('p1')), 'LP002', 'answer_show: a viewer is LP002');
SELECT tests.authenticate_as('paul');
SELECT * FROM tests.rejects(format($$SELECT api.answer_show(%L, true)$$, tests.id('p1')), 'LP003',
                            'answer_show: another performer is not told of a viewer''s request (lp.show_visible): LP003');
SELECT tests.authenticate_as('pia');
SELECT is((api.answer_show(tests.id('p1'), true)).status::text, 'running', 'answer_show: the host accepts; the show runs');
SELECT * FROM tests.rejects(format($$SELECT api.answer_show(%L, true)$$, tests.id('p1')), 'LP004', 'answer_show: answering twice is LP004');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.stream_events WHERE stream_id = tests.id('s') AND kind IN ('show_requested', 'show_started')),
          2::bigint, 'events: show_requested and show_started');

-- == spies, and the first minutes billed ======================================================================
SELECT tests.authenticate_as('val');
SELECT results_eq(format($$SELECT role::text, rate FROM api.join_show(%L, 'spy-1')$$, tests.id('p1')),
                  $$VALUES ('spy', 10::bigint)$$, 'join_show: a spy on a running private show, at the spy rate');
SELECT is(tests.reserved('val'), 20::bigint, 'the spy reserves shows.prepay_minutes (2) ahead');
SELECT * FROM tests.rejects(format($$SELECT api.release_hold(%L, 'sneak-out')$$,
                                   (SELECT hold_id FROM lp.show_participants WHERE show_id = tests.id('p1') AND role = 'spy')),
                            'LP004', 'release_hold: a viewer cannot release a show''s reservation (LP004)');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format($$SELECT api.capture_hold(%L, 10, 'grab')$$,
                                   (SELECT hold_id FROM lp.show_participants WHERE show_id = tests.id('p1') AND role = 'spy')),
                            'LP004', 'capture_hold: the host cannot capture a show''s reservation herself (LP004)');
SELECT tests.clear_authentication();
SELECT is(tests.bill(), '0/0/0', 'bill_shows: nothing due in the first minute');
SELECT tests.age(tests.id('p1'), 150);
SELECT is(tests.bill(), '2/80/0', 'bill_shows after 2.5 minutes: 2 completed minutes each (60 + 20)');
SELECT is(tests.part(tests.id('p1'), 'vic'), 'payer 60/-', 'the payer billed 2 minutes');
SELECT is(tests.part(tests.id('p1'), 'val'), 'spy 20/-', 'the spy billed 2 minutes');
SELECT is(tests.reserved('vic'), 60::bigint, 'the payer''s reservation topped up 2 minutes ahead');
SELECT is(tests.bill(), '0/0/0', 'bill_shows again: nothing billed twice');
SELECT is(tests.total('pia'), 64::bigint, 'the host got 80 less the 20 % fee');
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean while the show runs');

-- == the payer leaves: every started minute; the private show ends; the spy keeps only completed minutes =====
SELECT tests.age(tests.id('p1'), 40);  -- 3 min 10 s in
SELECT tests.authenticate_as('vic');
SELECT is((api.leave_show(tests.id('p1'))).due_tokens, 120::bigint, 'leave_show: the payer owes 4 started minutes');
SELECT tests.clear_authentication();
SELECT is(tests.show_status(tests.id('p1')), 'ended|viewer|viewer left', 'the private show ended with its payer');
SELECT is(tests.part(tests.id('p1'), 'val'), 'spy 20/30', 'the spy, out with the show (not by their doing), owes completed minutes');
SELECT is(tests.bill(), '2/70/10', 'bill_shows: the rest captured (60 + 10), what the spy''s reservation still held released');
SELECT is(tests.part(tests.id('p1'), 'vic'), 'payer 120/120 settled', 'the payer paid 4 minutes');
SELECT is(tests.reserved('vic'), 0::bigint, 'nothing stays reserved');
SELECT is(tests.reserved('val'), 0::bigint, 'nothing stays reserved for the spy');
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean after the show');
SELECT tests.authenticate_as('val');
SELECT * FROM tests.rejects(format($$SELECT api.leave_show(%L)$$, tests.id('p1')), 'LP004', 'leave_show: a show that is over is LP004');

-- == the host ends a show: completed minutes only, no minimum ================================================
SELECT tests.authenticate_as('wes');
SELECT tests.remember('p2', (api.request_show(tests.id('s'), 'r-wes')).id);
SELECT tests.authenticate_as('pia');
SELECT is((api.answer_show(tests.id('p2'), true)).status::text, 'running', 'another private show runs');
SELECT tests.age(tests.id('p2'), 50);
SELECT is((api.end_show(tests.id('p2'))).status::text, 'ended', 'end_show: the host ends it after 50 seconds');
SELECT is(tests.part(tests.id('p2'), 'wes'), 'payer 0/0', 'the viewer owes nothing: no minute completed (no minimum when the host ends it)');
SELECT is(tests.bill(), '1/0/60', 'bill_shows: the reservation released');
SELECT is(tests.reserved('wes'), 0::bigint, 'nothing stays reserved');

-- == declined, expired, withdrawn ============================================================================
SELECT tests.authenticate_as('wes');
SELECT tests.remember('p3', (api.request_show(tests.id('s'), 'r-wes-2')).id);
SELECT tests.authenticate_as('pia');
SELECT is((api.answer_show(tests.id('p3'), false, 'not now')).status::text, 'declined', 'answer_show: the host declines');
SELECT tests.authenticate_as('wes');
SELECT tests.remember('p4', (api.request_show(tests.id('s'), 'r-wes-3')).id);
SELECT tests.clear_authentication();
UPDATE lp.shows SET answer_by = now() - interval '1 second' WHERE id = tests.id('p4');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format($$SELECT api.answer_show(%L, true)$$, tests.id('p4')), 'LP004', 'answer_show: an expired request is LP004');
SELECT tests.clear_authentication();
SELECT is(tests.bill(), '2/0/120', 'bill_shows: the unanswered request expires; both reservations released');
SELECT is(tests.show_status(tests.id('p4')), 'expired|system|not answered in time', 'expired');
SELECT tests.authenticate_as('wes');
SELECT tests.remember('p5', (api.request_show(tests.id('s'), 'r-wes-4')).id);
SELECT is((api.leave_show(tests.id('p5'))).due_tokens, 0::bigint, 'leave_show: withdrawing a request owes nothing');
SELECT tests.clear_authentication();
SELECT is(tests.show_status(tests.id('p5')), 'cancelled|viewer|viewer withdrew', 'the request is withdrawn');
SELECT is(tests.bill(), '1/0/60', 'its reservation released');

-- == out of tokens, and a lost connection ====================================================================
SELECT tests.fund('pip', 90);  -- 140: the minimum (60) and 2 more minutes
SELECT tests.authenticate_as('pip');
SELECT tests.remember('p6', (api.request_show(tests.id('s'), 'r-pip-2')).id);
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format($$SELECT api.answer_show(%L, true)$$, tests.id('p6')), 'the host accepts pip''s show');
SELECT tests.age(tests.id('p6'), 70);
SELECT is(tests.bill(), '1/30/0', '1 minute billed, after the reservation was topped up 2 minutes ahead');
SELECT is(tests.reserved('pip'), 60::bigint, 'pip has 60 reserved (2 minutes ahead)');
SELECT tests.age(tests.id('p6'), 60);
SELECT is(tests.bill(), '1/30/0', 'a second minute, topped up again (pip has 20 left free)');
SELECT tests.age(tests.id('p6'), 60);
SELECT is(tests.bill(), '1/30/0', 'a third minute: no top-up possible, but the minute in progress is still covered');
SELECT is(tests.show_status(tests.id('p6')), 'running', 'the show goes on');
SELECT tests.age(tests.id('p6'), 60);
SELECT is(tests.bill(), '1/30/0', 'a fourth minute: the reservation is used up, the next minute cannot be paid');
SELECT is(tests.show_status(tests.id('p6')), 'ended|viewer|viewer out of tokens', 'the show stopped by itself');
SELECT is(tests.part(tests.id('p6'), 'pip'), 'payer 120/120 settled', 'pip paid the 4 minutes the reservation covered');
SELECT is(tests.total('pip'), 20::bigint, 'pip keeps 20');
SELECT tests.authenticate_as('wes');
SELECT tests.remember('p7', (api.request_show(tests.id('s'), 'r-wes-5')).id);
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format($$SELECT api.answer_show(%L, true)$$, tests.id('p7')), 'another show');
SELECT tests.clear_authentication();
SELECT tests.age(tests.id('p7'), 200);
UPDATE lp.stream_viewers SET last_heartbeat_at = now() - interval '100 seconds', joined_at = now() - interval '300 seconds'
 WHERE stream_id = tests.id('s') AND user_id = tests.user_id('wes');
SELECT ok(tests.bill() IS NOT NULL, 'bill_shows: wes''s heartbeat is lost');
SELECT is(tests.show_status(tests.id('p7')), 'ended|viewer|viewer lost connection', 'the show ended, by the viewer''s doing');
SELECT is(tests.part(tests.id('p7'), 'wes'), 'payer 60/60 settled', 'billed up to the last heartbeat (100 s: 2 started minutes)');
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean');

-- == who may not take part: a minor (cannot watch), a suspended viewer ======================================
SELECT tests.clear_authentication();
SELECT tests.create_user('kid');
UPDATE lp.settings SET value = '40' WHERE key = 'auth.minimum_age_years';  -- every test user (born 1990) is too young
SELECT tests.authenticate_as('kid');
SELECT * FROM tests.rejects(format($$SELECT api.join_stream(%L)$$, tests.id('s')), 'LP013', 'a minor cannot watch the stream (LP013)');
SELECT * FROM tests.rejects(format($$SELECT api.request_show(%L, 'kid-1')$$, tests.id('s')), 'LP123',
                            'request_show: so a minor cannot ask for a show either (LP123, not watching)');
SELECT tests.clear_authentication();
UPDATE lp.settings SET value = '18' WHERE key = 'auth.minimum_age_years';
INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, ends_at)
VALUES (tests.user_id('wes'), 'suspension', 'cool off', now() + interval '1 day');
SELECT tests.authenticate_as('wes');
SELECT * FROM tests.rejects(format($$SELECT api.request_show(%L, 'wes-susp')$$, tests.id('s')), 'LP022',
                            'request_show: a suspended viewer is LP022');
SELECT tests.clear_authentication();
UPDATE lp.user_sanctions SET revoked_at = now(), revoke_reason = 'test over' WHERE user_id = tests.user_id('wes');
-- wes's viewing session is still open but silent for 100 s (above): not watching now, as for the show's start
-- and billing (lp.is_watching); a heartbeat makes him a viewer again
SELECT tests.authenticate_as('wes');
SELECT * FROM tests.rejects(format($$SELECT api.request_show(%L, 'wes-stale')$$, tests.id('s')), 'LP123',
                            'request_show: an open session silent past streams.viewer_timeout_seconds is LP123');
SELECT tests.clear_authentication();
UPDATE lp.stream_viewers SET last_heartbeat_at = now() WHERE stream_id = tests.id('s') AND user_id = tests.user_id('wes');

-- == a group show ============================================================================================
SELECT tests.authenticate_as('paul');
SELECT * FROM tests.rejects(format($$SELECT api.offer_show(%L, 'group')$$, tests.id('ps')), 'LP128', 'offer_show: no group price is LP128');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format($$SELECT api.offer_show(%L, 'private')$$, tests.id('s')), 'LP018', 'offer_show: a private show is not offered (LP018)');
SELECT * FROM tests.rejects(format($$SELECT api.offer_show(%L, 'group')$$, tests.id('ps')), 'LP002', 'offer_show: another host''s stream is LP002');
SELECT tests.remember('g1', (api.offer_show(tests.id('s'), 'group')).id);
SELECT * FROM tests.rejects(format($$SELECT api.offer_show(%L, 'ticket')$$, tests.id('s')), 'LP004', 'offer_show: one open show per stream (LP004)');
SELECT tests.authenticate_as('vic');
SELECT results_eq(format($$SELECT role::text, billed_from FROM api.join_show(%L, 'g1-vic')$$, tests.id('g1')),
                  $$VALUES ('payer', NULL::timestamptz)$$, 'join_show: a viewer commits to the group show');
SELECT * FROM tests.rejects(format($$SELECT api.join_show(%L, 'g1-vic-2')$$, tests.id('g1')), 'LP004', 'join_show: committing twice is LP004');
SELECT tests.authenticate_as('bob');
SELECT * FROM tests.rejects(format($$SELECT api.join_show(%L, 'g1-bob')$$, tests.id('g1')), 'LP123', 'join_show: not watching is LP123');
SELECT tests.authenticate_as('pia');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.start_show(%L)$$, tests.id('g1')), 'LP002', 'start_show: a viewer is LP002');
SELECT * FROM tests.rejects(format($$SELECT api.end_show(%L)$$, tests.id('g1')), 'LP002', 'end_show: a viewer is LP002');
SELECT tests.authenticate_as('paul');
SELECT * FROM tests.rejects(format($$SELECT api.start_show(%L)$$, tests.id('g1')), 'LP002', 'start_show: another performer is LP002');
SELECT tests.authenticate_as('wes');
SELECT * FROM tests.rejects(format($$SELECT api.leave_show(%L)$$, tests.id('g1')), 'LP003', 'leave_show: someone not in the show is LP003');
SELECT tests.authenticate_as('pia');
SELECT is((api.start_show(tests.id('g1'))).status::text, 'cancelled', 'start_show: 1 of 2 viewers: the group show is cancelled');
SELECT is(tests.show_status(tests.id('g1')), 'cancelled|system|1 of 2 viewers committed', 'with the reason');
SELECT is(tests.bill(), '1/0/30', 'and the commitment released');
SELECT tests.authenticate_as('pia');
SELECT tests.remember('g2', (api.offer_show(tests.id('s'), 'group')).id);
SELECT tests.authenticate_as('vic');
SELECT isnt(api.join_show(tests.id('g2'), 'g2-vic'), NULL, 'vic commits');
SELECT tests.authenticate_as('val');
SELECT isnt(api.join_show(tests.id('g2'), 'g2-val'), NULL, 'val commits');
SELECT tests.authenticate_as('pia');
SELECT is((api.start_show(tests.id('g2'))).status::text, 'running', 'start_show: enough viewers: it runs');
SELECT tests.age(tests.id('g2'), 130);
SELECT tests.authenticate_as('val');
SELECT is((api.leave_show(tests.id('g2'))).due_tokens, 30::bigint, 'a group viewer leaving owes at least the minimum (3 minutes)');
SELECT tests.authenticate_as('pia');
SELECT is((api.end_show(tests.id('g2'))).status::text, 'ended', 'the host ends the group show');
SELECT tests.clear_authentication();
SELECT is(tests.part(tests.id('g2'), 'vic'), 'payer 0/20', 'the viewer still in it owes the completed minutes only');
SELECT is(tests.bill(), '2/50/10', 'settled: 20 + 30 captured, the rest of vic''s reservation released');

-- == a ticket show: cancelled (every ticket released), then one that runs ===================================
SELECT tests.authenticate_as('pia');
SELECT tests.remember('t1', (api.offer_show(tests.id('s'), 'ticket')).id);
SELECT tests.authenticate_as('vic');
SELECT is((api.join_show(tests.id('t1'), 't1-vic')).role::text, 'ticket', 'a ticket');
SELECT tests.authenticate_as('wes');
SELECT lives_ok(format($$SELECT api.join_stream(%L)$$, tests.id('s')), 'wes watches again');
SELECT isnt(api.join_show(tests.id('t1'), 't1-wes'), NULL, 'another ticket');
SELECT tests.authenticate_as('pia');
SELECT is((api.end_show(tests.id('t1'), 'power cut')).status::text, 'cancelled', 'end_show: the host cancels the ticket show');
SELECT is(tests.bill(), '2/0/200', 'every ticket released');
SELECT tests.authenticate_as('pia');
SELECT tests.remember('t2', (api.offer_show(tests.id('s'), 'ticket')).id);
SELECT tests.authenticate_as('vic');
SELECT isnt(api.join_show(tests.id('t2'), 't2-vic'), NULL, 'vic buys a ticket');
SELECT tests.authenticate_as('val');
SELECT isnt(api.join_show(tests.id('t2'), 't2-val'), NULL, 'val buys one too');
SELECT tests.clear_authentication();
-- Her reservation is gone before the show is billed. A show's reservation does not expire while her part is
-- unsettled (lp.hold_due; tests/sql/test_hold_expiry.sql), so it is closed by hand, as one expired before that rule.
SELECT lp.close_hold(tests.hold_id('val', 'show:t2-val'), 'expired');
SELECT tests.authenticate_as('pia');
SELECT is((api.start_show(tests.id('t2'))).status::text, 'running', 'the ticket show starts');
SELECT tests.authenticate_as('wes');
SELECT * FROM tests.rejects(format($$SELECT api.join_show(%L, 't2-wes')$$, tests.id('t2')), 'LP004', 'join_show: no ticket once it started (LP004)');
SELECT tests.clear_authentication();
SELECT is(tests.bill(), '2/100/0', 'bill_shows: vic''s ticket is captured once the show started; val''s reservation expired');
SELECT is(tests.part(tests.id('t2'), 'val'), 'ticket 0/0 settled', 'a ticket whose reservation is gone is out, owing nothing (no endless billing)');
SELECT tests.authenticate_as('pia');
SELECT is((api.end_show(tests.id('t2'))).status::text, 'ended', 'the host ends it');
SELECT tests.clear_authentication();
SELECT is(tests.bill(), '1/0/0', 'settled: the ticket paid');

-- == a reservation that is not the show's own, and a block mid-show ========================================
SELECT tests.authenticate_as('val');
SELECT isnt(api.place_hold(tests.user_id('pia'), 150, 'show:pre', 'private_show', NULL, tests.id('s')), NULL,
            'val places a hold herself with the key a show call would use');
SELECT lives_ok(format($$SELECT api.release_hold(%L, 'rel-pre')$$,
                       (SELECT id FROM lp.holds WHERE idempotency_key = 'show:pre')), 'and releases it');
SELECT * FROM tests.rejects(format($$SELECT api.request_show(%L, 'pre')$$, tests.id('s')), 'LP106',
                            'request_show: a key whose hold is not the call''s own is LP106 (no show without a reservation)');
SELECT tests.authenticate_as('wes');
SELECT lives_ok(format($$SELECT api.join_stream(%L)$$, tests.id('s')), 'wes watches again');
SELECT tests.remember('pb', (api.request_show(tests.id('s'), 'r-block')).id);
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format($$SELECT api.answer_show(%L, true)$$, tests.id('pb')), 'pia accepts wes''s show');
SELECT tests.age(tests.id('pb'), 30);
SELECT lives_ok(format($$SELECT api.block_viewer(%L)$$, tests.user_id('wes')), 'and blocks wes 30 seconds in');
SELECT tests.clear_authentication();
SELECT is(tests.show_status(tests.id('pb')), 'ended|host|viewer blocked', 'the block ended the show, as the host''s doing');
SELECT is(tests.part(tests.id('pb'), 'wes'), 'payer 0/0', 'wes owes no minute (none completed; no minimum)');
SELECT is(tests.bill(), '1/0/60', 'his reservation is released');
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format($$SELECT api.unblock_viewer(%L)$$, tests.user_id('wes')), 'pia unblocks wes');
SELECT tests.clear_authentication();

-- == visibility ==============================================================================================
SELECT tests.authenticate_as('val');
SELECT is_empty(format($$SELECT * FROM api.stream_shows(%L) WHERE requested_by IS NOT NULL$$, tests.id('s')),
                'stream_shows: a viewer does not learn who asked for others'' private shows');
SELECT is((SELECT count(*) FROM api.stream_shows(tests.id('s'))), 3::bigint, 'stream_shows: a viewer sees the shows they took part in (p1 as a spy, g2, t2)');
SELECT tests.authenticate_as('pia');
SELECT is((SELECT count(*) FROM api.stream_shows(tests.id('s')) WHERE show_type = 'private' AND requested_by IS NOT NULL),
          8::bigint, 'stream_shows: the host sees every show and who asked for each private one');

SELECT tests.authenticate_as('pia');
SELECT tests.remember('hidden', (api.schedule_stream('Hidden', p_visibility => 'private')).id);
SELECT is_empty(format($$SELECT * FROM api.stream_shows(%L)$$, tests.id('hidden')), 'stream_shows: the host reads her private stream''s shows (none)');
SELECT tests.authenticate_as('val');
SELECT * FROM tests.rejects(format($$SELECT * FROM api.stream_shows(%L)$$, tests.id('hidden')), 'LP003',
                            'stream_shows: someone else''s private stream is LP003');

-- == refunds =================================================================================================
SELECT tests.put('before', jsonb_build_object('vic', tests.total('vic'), 'val', tests.total('val'), 'pia', tests.total('pia')));
SELECT * FROM tests.rejects(format($$SELECT api.refund_show(%L, 'x')$$, tests.id('p1')), 'LP002', 'refund_show: the host is LP002');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format($$SELECT api.refund_show(%L, NULL)$$, tests.id('p1')), 'LP018', 'refund_show: no reason is LP018');
SELECT * FROM tests.rejects(format($$SELECT api.refund_show(%L, 'x')$$, tests.id('p3')), 'LP004', 'refund_show: a declined show is LP004');
SELECT ok((api.refund_show(tests.id('p1'), 'complaint upheld')).refunded_at IS NOT NULL, 'refund_show: an admin refunds the first show');
SELECT * FROM tests.rejects(format($$SELECT api.refund_show(%L, 'again')$$, tests.id('p1')), 'LP004', 'refund_show: twice is LP004');
SELECT tests.clear_authentication();
SELECT is(tests.total('vic'), (tests.get('before', 'vic'))::bigint + 120, 'vic got his 120 back');
SELECT is(tests.total('val'), (tests.get('before', 'val'))::bigint + 30, 'val got her 30 back');
SELECT is(tests.total('pia'), (tests.get('before', 'pia'))::bigint - 120, 'the host gave back her 120 (150 less the fee)');
SELECT is((SELECT count(*) FROM lp.ledger WHERE reference_type = 'show'), 4::bigint, 'one ledger transaction: vic, val, pia, the fee');
SELECT is((SELECT details ->> 'reason' FROM lp.audit_logs WHERE action = 'show.refund'), 'complaint upheld', 'audited (show.refund)');

-- == the stream ends with a show running: the host's doing =================================================
SELECT tests.authenticate_as('vic');
SELECT tests.remember('p8', (api.request_show(tests.id('s'), 'r-8')).id);
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format($$SELECT api.answer_show(%L, true)$$, tests.id('p8')), 'a last show');
SELECT tests.age(tests.id('p8'), 90);
SELECT is((api.end_stream(tests.id('s'))).status, 'ended', 'the host ends the stream');
SELECT tests.clear_authentication();
SELECT is(tests.show_status(tests.id('p8')), 'ended|host|stream ended', 'the show ended with it, as the host''s doing');
SELECT is(tests.part(tests.id('p8'), 'vic'), 'payer 0/30', 'the viewer owes the completed minute only');
SELECT is(tests.bill(), '1/30/30', 'settled');
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean at the end');
SELECT is((SELECT count(*) FROM lp.holds WHERE status = 'open'), 0::bigint, 'no reservation left open');

-- == a host banned mid-show: the stream and the show end, and the job does not pay a banned host ===========
SELECT tests.authenticate_as('paul');
SELECT isnt(api.set_show_price('private', 25, 2), NULL, 'paul sets a private show price');
SELECT tests.authenticate_as('vic');
SELECT tests.remember('pp', (api.request_show(tests.id('ps'), 'r-paul-2')).id);
SELECT tests.authenticate_as('paul');
SELECT lives_ok(format($$SELECT api.answer_show(%L, true)$$, tests.id('pp')), 'paul accepts');
SELECT tests.age(tests.id('pp'), 130);
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format($$SELECT api.sanction_user(%L, 'ban', 'fraud')$$, tests.user_id('paul')), 'an admin bans paul mid-show');
SELECT tests.clear_authentication();
SELECT is(tests.show_status(tests.id('pp')), 'ended|host|stream ended', 'the ban ended the stream and the show with it');
SELECT is(tests.bill(), '1/0/50', 'bill_shows: a banned host is not paid (the capture is refused): nothing billed, the reservation released');
SELECT is(tests.part(tests.id('pp'), 'vic'), 'payer 0/0 settled', 'the viewer is settled owing nothing');
SELECT is(tests.bill(), '0/0/0', 'and the job has nothing left (no viewer stuck in the queue)');
SELECT tests.authenticate_as('adam');
SELECT throws_ok($$SELECT api.set_setting('shows.prepay_minutes', '0')$$, 'LP092', NULL, 'set_setting: shows.prepay_minutes 0 is out of range');
SELECT throws_ok($$SELECT api.set_setting('shows.min_rate', '20000')$$, 'LP092', NULL, 'set_setting: shows.min_rate above shows.max_rate is refused');
SELECT tests.clear_authentication();

-- == a refunded show's earnings are not payable, and tokens bought after it neither ========================
-- (the host's give-back counts as spent earnings in lp.payable_tokens: bought tokens are never payable)
UPDATE lp.settings SET value = '0' WHERE key = 'payouts.hold_days';
UPDATE lp.settings SET value = '100' WHERE key = 'payouts.min_tokens';
SELECT tests.create_user('rhea', 'performer');
SELECT tests.create_user('rory');
SELECT tests.fund('rory', 5000);
SELECT tests.authenticate_as('rhea');
SELECT tests.remember('rs', (api.schedule_stream('Refund night')).id);
SELECT api.consent_to_stream(tests.id('rs'), '203.0.113.1');
SELECT api.start_stream(tests.id('rs'));
SELECT api.set_show_price('ticket', 1000);
SELECT tests.remember('rt', (api.offer_show(tests.id('rs'), 'ticket')).id);
SELECT tests.authenticate_as('rory');
SELECT api.join_stream(tests.id('rs'));
SELECT api.join_show(tests.id('rt'), 'rt-rory');
SELECT tests.authenticate_as('rhea');
SELECT api.start_show(tests.id('rt'));
SELECT tests.clear_authentication();
SELECT tests.bill();
SELECT tests.authenticate_as('rhea');
SELECT api.end_show(tests.id('rt'));
SELECT tests.clear_authentication();
SELECT tests.bill();
SELECT is(lp.payable_tokens(tests.wallet('rhea')), 800::bigint, 'a ticket show of 1000 tokens: 800 earned and payable');
SELECT tests.authenticate_as('adam');
SELECT api.refund_show(tests.id('rt'), 'complaint upheld');
SELECT tests.clear_authentication();
SELECT is(lp.payable_tokens(tests.wallet('rhea')), 0::bigint, 'refunded: nothing payable');
SELECT tests.fund('rhea', 6000);
SELECT is(lp.payable_tokens(tests.wallet('rhea')), 0::bigint, 'tokens the host buys after the refund are not payable either');
SELECT tests.authenticate_as('rhea');
SELECT throws_ok($$SELECT api.request_payout(800, 'bank_transfer', 'po-after-refund')$$, 'LP112', NULL,
                 'request_payout: the refunded earnings cannot be cashed out with bought tokens');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM api.verify_ledger()), 0::bigint, 'verify_ledger: clean after the refund and the purchase');

-- == under write_off, a show's refund first makes good what a chargeback wrote off for its viewer ==========
UPDATE lp.settings SET value = '"write_off"' WHERE key = 'refunds.shortfall_policy';
CREATE FUNCTION tests.losses() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)
      FROM lp.wallets AS w WHERE w.system_code = 'chargeback_losses'
$$;
SELECT tests.create_user('wanda');
SELECT tests.authenticate_as('wanda');
SELECT tests.remember('wp', (api.create_payment('small', 'stripe', 'wanda-buy')).id);
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT api.complete_payment(tests.id('wp'), 'ch_wanda', 'wanda-complete');
SELECT tests.authenticate_as('rhea');
SELECT api.set_show_price('ticket', 500);  -- the price of the bundle 'small'
SELECT tests.remember('wt', (api.offer_show(tests.id('rs'), 'ticket')).id);
SELECT tests.authenticate_as('wanda');
SELECT api.join_stream(tests.id('rs'));
SELECT api.join_show(tests.id('wt'), 'wt-wanda');
SELECT tests.authenticate_as('rhea');
SELECT api.start_show(tests.id('wt'));
SELECT tests.clear_authentication();
SELECT tests.bill();
SELECT tests.authenticate_as('rhea');
SELECT api.end_show(tests.id('wt'));
SELECT tests.clear_authentication();
SELECT tests.bill();
SELECT is(tests.total('wanda'), 0::bigint, 'wanda spent every token of her purchase on the show');
RESET ROLE;
CREATE TABLE tests.losses_before AS SELECT tests.losses() AS v;
GRANT SELECT ON tests.losses_before TO PUBLIC;
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(format($$SELECT recovered_tokens, written_off_tokens FROM api.chargeback_payment(%L, 'stolen card', 'wanda-cb')$$, tests.id('wp')),
                  $$VALUES (0::bigint, 500::bigint)$$,
                  'write_off: her chargeback writes off the tokens she spent on the show');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format($$SELECT api.refund_show(%L, 'complaint upheld')$$, tests.id('wt')), 'an admin refunds her show');
SELECT tests.clear_authentication();
SELECT is(tests.total('wanda'), 0::bigint, 'the refund goes to what was written off for her: no tokens for a purchase she got back');
SELECT results_eq($$SELECT recovered_tokens, written_off_tokens FROM lp.payments WHERE id = tests.id('wp')$$,
                  $$VALUES (500::bigint, 0::bigint)$$,
                  'the payment now records the tokens as recovered, none written off');
SELECT is(tests.losses()::bigint, (SELECT v::bigint FROM tests.losses_before), 'chargeback_losses is made good: back where it was before the chargeback');
SELECT is((SELECT count(*) FROM api.verify_ledger()), 0::bigint, 'verify_ledger: clean after the refund under write_off');

-- == viewers who stopped watching before the start: out, owing nothing, not counted =========================
-- (a stream of its own, so the counts of the sections above do not move)
SELECT tests.create_user('nia', 'performer'), tests.create_user('ned'), tests.create_user('nell'), tests.create_user('noor');
SELECT tests.fund(u, 1000) FROM unnest(ARRAY['ned', 'nell', 'noor']) AS u;
SELECT tests.authenticate_as('nia');
SELECT tests.remember('ns', (api.schedule_stream('Presence night')).id);
SELECT api.consent_to_stream(tests.id('ns'), '203.0.113.3');
SELECT api.start_stream(tests.id('ns'));
SELECT api.set_show_price('private', 60, 5);
SELECT api.set_show_price('group', 20, 5, NULL, 2);
SELECT tests.authenticate_as('ned');
SELECT api.join_stream(tests.id('ns'));
SELECT tests.authenticate_as('nell');
SELECT api.join_stream(tests.id('ns'));
SELECT tests.authenticate_as('noor');
SELECT api.join_stream(tests.id('ns'));
-- a private show whose payer left the stream before the host accepted: cancelled, nothing charged
SELECT tests.authenticate_as('ned');
SELECT tests.remember('np1', (api.request_show(tests.id('ns'), 'np1-ned')).id);
SELECT ok((api.leave_stream(tests.id('ns'))).left_at IS NOT NULL, 'ned asks for a private show, then leaves the stream');
SELECT tests.authenticate_as('nia');
SELECT is((api.answer_show(tests.id('np1'), true)).status::text, 'cancelled',
          'answer_show: a payer who left the stream before the start: the show does not run, it is cancelled');
SELECT tests.clear_authentication();
SELECT is(tests.show_status(tests.id('np1')), 'cancelled|viewer|viewer stopped watching', 'by the viewer, with the reason');
SELECT is(tests.part(tests.id('np1'), 'ned'), 'payer 0/0', 'the payer is out owing nothing (no minimum)');
SELECT is((SELECT count(*) FROM lp.stream_events WHERE stream_id = tests.id('ns') AND kind = 'show_started'), 0::bigint,
          'no show_started event');
SELECT is((SELECT details ->> 'reason' FROM lp.audit_logs WHERE action = 'show.cancel' AND target_id = tests.id('np1')::text),
          'viewer stopped watching', 'audited (show.cancel)');
SELECT is(tests.bill(), '1/0/300', 'bill_shows: his reservation (the minimum) released, nothing captured');
SELECT is(tests.total('ned'), 1000::bigint, 'ned paid nothing');
-- the same with a session still open but silent for longer than streams.viewer_timeout_seconds
SELECT tests.authenticate_as('nell');
SELECT tests.remember('np2', (api.request_show(tests.id('ns'), 'np2-nell')).id);
SELECT tests.clear_authentication();
UPDATE lp.stream_viewers SET last_heartbeat_at = now() - interval '100 seconds', joined_at = now() - interval '300 seconds'
 WHERE stream_id = tests.id('ns') AND user_id = tests.user_id('nell') AND left_at IS NULL;
SELECT tests.authenticate_as('nia');
SELECT is((api.answer_show(tests.id('np2'), true)).status::text, 'cancelled',
          'answer_show: a payer whose heartbeat timed out is not watching: cancelled');
SELECT tests.clear_authentication();
SELECT is(tests.part(tests.id('np2'), 'nell'), 'payer 0/0', 'she owes nothing');
SELECT is(tests.bill(), '1/0/300', 'her reservation released');
-- a group show: one of three committed viewers left the stream; the show runs with the two still watching
SELECT tests.authenticate_as('ned');
SELECT lives_ok(format($$SELECT api.join_stream(%L)$$, tests.id('ns')), 'ned watches again');
SELECT tests.authenticate_as('nia');
SELECT tests.remember('ng1', (api.offer_show(tests.id('ns'), 'group')).id);
SELECT tests.authenticate_as('ned');
SELECT isnt(api.join_show(tests.id('ng1'), 'ng1-ned'), NULL, 'ned commits');
SELECT tests.authenticate_as('nell');
SELECT lives_ok(format($$SELECT api.join_stream(%L)$$, tests.id('ns')), 'nell''s session is alive again');
SELECT isnt(api.join_show(tests.id('ng1'), 'ng1-nell'), NULL, 'nell commits');
SELECT tests.authenticate_as('noor');
SELECT isnt(api.join_show(tests.id('ng1'), 'ng1-noor'), NULL, 'noor commits');
SELECT lives_ok(format($$SELECT api.leave_stream(%L)$$, tests.id('ns')), 'and leaves the stream');
SELECT tests.authenticate_as('nia');
SELECT is((api.start_show(tests.id('ng1'))).status::text, 'running', 'start_show: 2 of the 3 still watch: it runs');
SELECT tests.clear_authentication();
SELECT is(tests.part(tests.id('ng1'), 'noor'), 'payer 0/0', 'noor, gone before the start, is out owing nothing');
SELECT is((SELECT (payload ->> 'participants')::integer FROM lp.stream_events
            WHERE stream_id = tests.id('ns') AND kind = 'show_started' AND payload ->> 'show_id' = tests.id('ng1')::text),
          2, 'show_started counts the 2 viewers watching');
SELECT is(tests.bill(), '1/0/100', 'bill_shows: noor''s commitment released; nothing else due yet');
-- bill_shows step 2: a viewer last seen before their billing started owes nothing (no minimum)
SELECT tests.age(tests.id('ng1'), 20);
UPDATE lp.stream_viewers SET last_heartbeat_at = now() - interval '100 seconds', joined_at = now() - interval '300 seconds'
 WHERE stream_id = tests.id('ns') AND user_id = tests.user_id('nell') AND left_at IS NULL;
SELECT is(tests.bill(), '1/0/100', 'bill_shows: nell, last seen 80 seconds before the start, is out');
SELECT is(tests.part(tests.id('ng1'), 'nell'), 'payer 0/0 settled', 'owing nothing: not the minimum for 0 seconds watched');
SELECT is(tests.show_status(tests.id('ng1')), 'running', 'the group show goes on');
SELECT tests.authenticate_as('nia');
SELECT is((api.end_show(tests.id('ng1'))).status::text, 'ended', 'the host ends it');
SELECT tests.clear_authentication();
SELECT is(tests.bill(), '1/0/100', 'ned owes no completed minute: released');
-- a group show short of viewers still watching is cancelled
SELECT tests.authenticate_as('nia');
SELECT tests.remember('ng2', (api.offer_show(tests.id('ns'), 'group')).id);
SELECT tests.authenticate_as('ned');
SELECT isnt(api.join_show(tests.id('ng2'), 'ng2-ned'), NULL, 'ned commits');
SELECT tests.authenticate_as('noor');
SELECT lives_ok(format($$SELECT api.join_stream(%L)$$, tests.id('ns')), 'noor watches again');
SELECT isnt(api.join_show(tests.id('ng2'), 'ng2-noor'), NULL, 'noor commits');
SELECT lives_ok(format($$SELECT api.leave_stream(%L)$$, tests.id('ns')), 'and leaves the stream');
SELECT tests.authenticate_as('nia');
SELECT is((api.start_show(tests.id('ng2'))).status::text, 'cancelled',
          'start_show: 2 committed but 1 still watching: the group show is cancelled');
SELECT tests.clear_authentication();
SELECT is(tests.show_status(tests.id('ng2')), 'cancelled|system|1 of 2 viewers committed', 'with the reason');
SELECT is(tests.bill(), '2/0/200', 'both commitments released');
SELECT results_eq($$SELECT tests.total(u) FROM unnest(ARRAY['ned', 'nell', 'noor']) AS u$$,
                  $$VALUES (1000::bigint), (1000::bigint), (1000::bigint)$$, 'nobody paid for a show they did not watch');
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean');

-- == the job: who may run it ================================================================================
SELECT tests.authenticate_as('adam');
SELECT throws_ok($$SELECT * FROM api.bill_shows()$$, '42501', NULL, 'bill_shows: not granted to the application login');
SELECT tests.clear_authentication();

SELECT * FROM finish();
ROLLBACK;
