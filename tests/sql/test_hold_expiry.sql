-- Hold expiry and shows: a show's reservation (the hold of a show participation that is not settled yet) never
-- expires by the generic rule (lp.hold_due), on any expiry path: lp.post (a tip of the viewer), api.get_hold,
-- api.list_holds, lp.reserve (a new hold of the viewer), the job api.expire_holds, and lp.lock_hold in the
-- billing job. So with holds.max_minutes below a show's length (or a ticket show waiting longer than it to
-- start) every minute and the minimum are still billed, the reservation keeps counting toward the viewer's
-- spending limits, and it ends when the billing job settles the viewer's part. A hold of a show purpose placed
-- with api.place_hold outside a show expires as any other.
--
-- The other half of the rule, expiry judged by the statement's clock (statement_timestamp()) rather than the
-- transaction's start, cannot be shown here: this file reaches the server as one message, in which
-- statement_timestamp() = now() for every statement. tests/py/test_hold_expiry.py shows it with one statement
-- per call, on two connections.
--
-- The file is one transaction, so now() does not move: elapsed time is made by moving a show's start (and its
-- viewers' billing start) and a hold's life into the past.
BEGIN;
SELECT plan(35);

-- Helpers of this file (SECURITY DEFINER where they read or write past RLS):
--   tests.fund(username, n)
--   tests.age(show, seconds)        the show started that many seconds earlier (its viewers' billing too)
--   tests.shift_hold(hold, seconds) the hold was placed (and expires) that many seconds earlier
--   tests.bill()                    api.bill_shows as the billing job until it has nothing left; 'steps/captured/released'
--   tests.part(show, username)      'role billed/due settled' of a viewer's part in a show
--   tests.hold_status(hold)
--   tests.status_after(sql, hold)   the hold's status right after sql ran as the caller; then undone
CREATE FUNCTION tests.age(p_show uuid, p_seconds integer) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.shows SET started_at = started_at - make_interval(secs => p_seconds) WHERE id = p_show;
    UPDATE lp.show_participants SET billed_from = billed_from - make_interval(secs => p_seconds)
     WHERE show_id = p_show AND billed_from IS NOT NULL AND left_at IS NULL;
$$;
CREATE FUNCTION tests.shift_hold(p_hold uuid, p_seconds integer) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.holds SET created_at = created_at - make_interval(secs => p_seconds),
                        expires_at = expires_at - make_interval(secs => p_seconds)
     WHERE id = p_hold;
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
CREATE FUNCTION tests.hold_status(p_hold uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT h.status::text FROM lp.holds AS h WHERE h.id = p_hold
$$;
-- Runs p_sql as the caller (acting user and database role), reads the hold's status, and undoes everything
-- (a subtransaction rolled back), so that each expiry path is tried on the same state.
CREATE FUNCTION tests.status_after(p_sql text, p_hold uuid) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    BEGIN
        EXECUTE p_sql;
        v_status := tests.hold_status(p_hold);
        RAISE EXCEPTION USING ERRCODE = 'XT001', MESSAGE = 'undo';
    EXCEPTION WHEN SQLSTATE 'XT001' THEN
        NULL;
    END;
    RETURN v_status;
END
$$;

DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');   -- the host
    PERFORM tests.create_user('vic');                -- a private show's payer
    PERFORM tests.create_user('wes');                -- a ticket bought long before its show
    PERFORM tests.create_user('tess');               -- a plain hold of a show purpose, outside any show
    PERFORM tests.approve_kyc('pia');
    PERFORM tests.fund(u, 5000) FROM unnest(ARRAY['vic', 'wes', 'tess']) AS u;
    PERFORM tests.authenticate_as('pia');
    PERFORM tests.remember('s', (api.schedule_stream('Show night')).id);
    PERFORM api.consent_to_stream(tests.id('s'), '203.0.113.1');
    PERFORM api.start_stream(tests.id('s'));
    PERFORM api.set_show_price('private', 30, 10);  -- 30 a minute, at least 10 minutes
    PERFORM api.set_show_price('ticket', 100);
    PERFORM tests.authenticate_as('vic');
    PERFORM api.join_stream(tests.id('s'));
    PERFORM api.set_spending_limit('daily', 400);
    PERFORM tests.authenticate_as('wes');
    PERFORM api.join_stream(tests.id('s'));
    PERFORM tests.clear_authentication();
    -- Holds live 5 minutes: less than the private show's minimum.
    UPDATE lp.settings SET value = '5' WHERE key = 'holds.max_minutes';
END
$$;

-- == a private show outlives its reservation's expires_at ====================================================
SELECT tests.authenticate_as('vic');
SELECT tests.remember('p1', (api.request_show(tests.id('s'), 'r1')).id);
SELECT tests.authenticate_as('pia');
SELECT is((api.answer_show(tests.id('p1'), true)).status::text, 'running', 'setup: the private show runs');
SELECT tests.authenticate_as('tess');
SELECT tests.remember('plain', (api.place_hold(tests.user_id('pia'), 50, 'plain', 'private_show')).id);
SELECT tests.clear_authentication();
SELECT tests.remember('h1', (SELECT p.hold_id FROM lp.show_participants AS p WHERE p.show_id = tests.id('p1')));
SELECT results_eq($$SELECT h.amount, h.expires_at - h.created_at FROM lp.holds AS h WHERE h.id = tests.id('h1')$$,
                  $$VALUES (300::bigint, interval '5 minutes')$$,
                  'setup: vic''s reservation (the 10-minute minimum) was placed for holds.max_minutes (5)');
-- Six minutes later: the show has run 6 minutes, both holds are a minute past their expires_at.
SELECT tests.age(tests.id('p1'), 360);
SELECT tests.shift_hold(tests.id('h1'), 360);
SELECT tests.shift_hold(tests.id('plain'), 360);
SELECT ok((SELECT h.expires_at < now() FROM lp.holds AS h WHERE h.id = tests.id('h1')), 'setup: the show''s hold is past its expires_at');

-- Every path that expires a due hold leaves the show's reservation alone (each tried on the same state).
SELECT tests.authenticate_as('vic');
SELECT is(tests.status_after(format($$SELECT api.tip(%L, 10, 'tip-1')$$, tests.user_id('pia')), tests.id('h1')), 'open',
          'a tip of the viewer (lp.post expires the sender''s due holds) leaves the show''s reservation open');
SELECT is(tests.status_after(format($$SELECT api.get_hold(%L)$$, tests.id('h1')), tests.id('h1')), 'open',
          'api.get_hold does not expire the show''s reservation');
SELECT is(tests.status_after($$SELECT count(*) FROM api.list_holds()$$, tests.id('h1')), 'open',
          'api.list_holds does not expire the show''s reservation');
SELECT is(tests.status_after(format($$SELECT api.place_hold(%L, 20, 'other')$$, tests.user_id('pia')), tests.id('h1')), 'open',
          'a new hold of the viewer (lp.reserve expires the holder''s due holds) leaves the show''s reservation open');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(tests.status_after($$SELECT api.expire_holds()$$, tests.id('h1')), 'open',
          'the job api.expire_holds does not expire the show''s reservation');
SELECT is(api.expire_holds(), 1, 'api.expire_holds expires one hold: the plain one');
SELECT tests.clear_authentication();
SELECT is(tests.hold_status(tests.id('plain')), 'expired', 'a hold of purpose private_show placed outside any show expires as any other');
SELECT is(tests.hold_status(tests.id('h1')), 'open', 'the show''s reservation is still open');

-- It keeps counting toward the viewer's spending limits (daily 400).
SELECT tests.authenticate_as('vic');
SELECT results_eq($$SELECT spent, reserved, remaining FROM api.get_spending_limits()$$,
                  $$VALUES (0::bigint, 300::bigint, 100::bigint)$$,
                  'get_spending_limits: the show''s reservation counts as reserved past its expires_at');
SELECT throws_ok(format($$SELECT api.place_hold(%L, 150, 'over')$$, tests.user_id('pia')), 'LP105', NULL,
                 'place_hold: 300 reserved by the show + 150 > 400 is LP105');
SELECT throws_ok(format($$SELECT api.tip(%L, 101, 'over')$$, tests.user_id('pia')), 'LP105', NULL,
                 'tip: 300 reserved by the show + 101 > 400 is LP105');
SELECT tests.clear_authentication();

-- The billing job bills every minute.
SELECT is(tests.bill(), '1/180/0', 'bill_shows after 6 minutes: 6 minutes captured (180), the reservation was not expired');
SELECT is(tests.part(tests.id('p1'), 'vic'), 'payer 180/-', 'vic is still in the show, billed 6 minutes');
SELECT is((SELECT s.status::text FROM lp.shows AS s WHERE s.id = tests.id('p1')), 'running', 'the show runs on');
SELECT results_eq($$SELECT h.status::text, h.amount - h.captured FROM lp.holds AS h WHERE h.id = tests.id('h1')$$,
                  $$VALUES ('open'::text, 120::bigint)$$, 'the reservation still holds the minute in progress and the next ones');
SELECT tests.age(tests.id('p1'), 240);  -- 10 minutes in
SELECT is(tests.bill(), '1/120/0', 'bill_shows at 10 minutes: 4 more minutes captured (the reservation topped up first)');
SELECT is(tests.part(tests.id('p1'), 'vic'), 'payer 300/-', 'billed 10 minutes, the minimum');

-- A show's reservation ends when the viewer's part is settled.
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format('SELECT api.end_show(%L)', tests.id('p1')), 'the host ends the show');
SELECT is(tests.bill(), '1/0/60', 'bill_shows settles vic: nothing more owed, the top-up released');
SELECT is(tests.part(tests.id('p1'), 'vic'), 'payer 300/300 settled', 'vic paid 10 minutes');
SELECT results_eq($$SELECT tests.hold_status(tests.id('h1')), tests.reserved('vic')$$, $$VALUES ('released'::text, 0::bigint)$$,
                  'settled: the reservation is released, nothing stays reserved');
SELECT tests.authenticate_as('vic');
SELECT results_eq($$SELECT spent, reserved FROM api.get_spending_limits()$$, $$VALUES (300::bigint, 0::bigint)$$,
                  'get_spending_limits: the show is spent, nothing reserved');
SELECT tests.clear_authentication();

-- == a ticket bought long before its show starts =============================================================
SELECT tests.authenticate_as('pia');
SELECT tests.remember('t1', (api.offer_show(tests.id('s'), 'ticket')).id);
SELECT tests.authenticate_as('wes');
SELECT is((api.join_show(tests.id('t1'), 'tk')).role::text, 'ticket', 'setup: wes buys a ticket');
SELECT tests.clear_authentication();
SELECT tests.remember('h2', (SELECT p.hold_id FROM lp.show_participants AS p WHERE p.show_id = tests.id('t1')));
SELECT tests.shift_hold(tests.id('h2'), 600);  -- the show starts 10 minutes later: twice holds.max_minutes
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.expire_holds(), 0, 'api.expire_holds: the ticket''s reservation does not expire while the show has not started');
SELECT tests.authenticate_as('pia');
SELECT is((api.start_show(tests.id('t1'))).status::text, 'running', 'the ticket show starts');
SELECT tests.clear_authentication();
SELECT is(tests.bill(), '1/100/0', 'bill_shows: the ticket is captured');
SELECT is(tests.part(tests.id('t1'), 'wes'), 'ticket 100/-', 'wes keeps his seat, billed his ticket');
SELECT tests.authenticate_as('pia');
SELECT is((api.end_show(tests.id('t1'))).status::text, 'ended', 'the host ends it');
SELECT is(tests.bill(), '1/0/0', 'bill_shows settles wes');
SELECT results_eq($$SELECT tests.part(tests.id('t1'), 'wes'), tests.hold_status(tests.id('h2')), tests.reserved('wes')$$,
                  $$VALUES ('ticket 100/100 settled'::text, 'captured'::text, 0::bigint)$$, 'the ticket paid, its hold captured');

SELECT ok(tests.holds_consistent(), 'reserved = the open holds'' remaining, for every wallet');
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean');

SELECT * FROM finish();
ROLLBACK;
