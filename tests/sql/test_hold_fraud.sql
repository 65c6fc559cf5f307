-- The fraud controls on money that moves through holds (lp.place_hold, lp.extend_hold, lp.fraud_on_chargeback):
-- a hold counts as a tip when it is placed (the new-account caps and the velocity rule of lp.count_spend, LP160 /
-- LP161 as for a tip, nothing changed by a refusal; a replay counts once; a capture counts nothing); a show's
-- reservation too (api.request_show), and its top-ups by the billing job count toward the daily cap; a chargeback
-- puts a payout_hold on a performer who captured the buyer's holds, as on one the buyer tipped.
BEGIN;
SELECT plan(43);

-- Helpers of this file (SECURITY DEFINER where they read or write past RLS):
--   tests.fund(username, n)           credits n tokens from the issuance wallet (no payment)
--   tests.cfg(key, value)             sets a setting as the superuser
--   tests.age(username, days)         the account was created that many days ago
--   tests.counter(username)           'tips this hour/tip tokens today' of the user's lp.spend_counters row
--   tests.outcome(sql)                'ok', or the SQLSTATE the statement raised (its effects rolled back)
--   tests.state() / tests.rejects(sql, sqlstate, description): raises sqlstate and nothing changed (a statement
--                                     that is not refused is rolled back all the same)
--   tests.show_age(show, seconds)     the show started that many seconds earlier (its viewers' billing too)
--   tests.bill()                      api.bill_shows as the billing job until it has nothing left; 'steps/captured'
--   tests.place(payee, amount, key)   the statement placing a hold for a tip
--   tests.cases(username)             open fraud cases on the user
--   tests.payout_holds(username)      active payout_holds on the user
CREATE FUNCTION tests.counter(p_username text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce((SELECT f.tips_in_hour || '/' || f.tip_tokens_day FROM lp.spend_counters AS f
                      WHERE f.user_id = tests.user_id(p_username)), 'none')
$$;
CREATE FUNCTION tests.outcome(p_sql text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE p_sql;
        RAISE EXCEPTION USING ERRCODE = 'P0009';  -- roll the statement's effects back
    EXCEPTION WHEN SQLSTATE 'P0009' THEN
        RETURN 'ok';
    END;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(concat_ws(',', w.id, w.balance, w.reserved), ';' ORDER BY w.id) FROM lp.wallets AS w),
        (SELECT string_agg(concat_ws(',', h.id, h.amount, h.captured, h.status), ';' ORDER BY h.id) FROM lp.holds AS h),
        (SELECT string_agg(concat_ws(',', s.id, s.status), ';' ORDER BY s.id) FROM lp.shows AS s),
        'participants ' || (SELECT count(*) FROM lp.show_participants),
        'ledger ' || (SELECT count(*) FROM lp.ledger),
        'tips ' || (SELECT count(*) FROM lp.tips),
        (SELECT string_agg(concat_ws(',', f.user_id, f.tips_in_hour, f.tip_tokens_day, f.purchases_in_hour,
                                     f.purchase_tokens_day), ';' ORDER BY f.user_id) FROM lp.spend_counters AS f),
        'reports ' || (SELECT count(*) FROM lp.reports),
        'sanctions ' || (SELECT count(*) FROM lp.user_sanctions),
        'events ' || (SELECT count(*) FROM lp.stream_events),
        'audit ' || (SELECT count(*) FROM lp.audit_logs))
$$;
-- As throws_ok plus the state check, but a statement that is not refused is rolled back too (after the state
-- is taken), so that the file goes on as it would have: each assertion fails on its own.
CREATE FUNCTION tests.show_age(p_show uuid, p_seconds integer) RETURNS void
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
    r       record;
BEGIN
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    LOOP
        SELECT * INTO r FROM api.bill_shows();
        EXIT WHEN r.show_id IS NULL;
        v_steps := v_steps + 1;
        v_take := v_take + r.captured;
        EXIT WHEN v_steps > 100;
    END LOOP;
    PERFORM tests.clear_authentication();
    RETURN v_steps || '/' || v_take;
END
$$;
CREATE FUNCTION tests.place(p_payee text, p_amount bigint, p_key text) RETURNS text
    LANGUAGE sql AS $f$
    SELECT format($$SELECT api.place_hold(%L, %s, %L, 'tip')$$, tests.user_id(p_payee), p_amount, p_key)
$f$;
CREATE FUNCTION tests.cases(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.reports AS r
     WHERE r.reported_user_id = tests.user_id(p_username) AND r.reason::text = 'fraud'
       AND r.status::text IN ('open', 'in_review', 'escalated')
$$;
CREATE FUNCTION tests.payout_holds(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.user_sanctions AS s
     WHERE s.user_id = tests.user_id(p_username) AND s.sanction_type::text = 'payout_hold' AND s.revoked_at IS NULL
$$;

-- == Fixture ===============================================================================================
-- nina: a new account (a completed payment, but days old) with 10000 tokens more; vel: old and paid (velocity);
-- sam: a new account watching pia's stream (shows); cara: old, buys the bundle that is charged back;
-- pia (the accomplice), pete: performers, both live with a private show.
DO $$
BEGIN
    PERFORM tests.create_user(u) FROM unnest(ARRAY['nina', 'vel', 'sam', 'cara']) AS u;
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('pete', 'performer');
    PERFORM tests.age(u, 30) FROM unnest(ARRAY['vel', 'cara']) AS u;
    PERFORM tests.fund(u, 10000) FROM unnest(ARRAY['nina', 'vel', 'sam']) AS u;
    PERFORM tests.authenticate_as('pia');
    PERFORM tests.remember('s', (api.schedule_stream('Pia live')).id);
    PERFORM api.consent_to_stream(tests.id('s'), '203.0.113.1');
    PERFORM api.start_stream(tests.id('s'));
    PERFORM api.set_show_price('private', 60, 2);
    PERFORM tests.authenticate_as('pete');
    PERFORM tests.remember('ps', (api.schedule_stream('Pete live')).id);
    PERFORM api.consent_to_stream(tests.id('ps'), '203.0.113.2');
    PERFORM api.start_stream(tests.id('ps'));
    PERFORM api.set_show_price('private', 50, 2);
    PERFORM tests.authenticate_as('sam');
    PERFORM api.join_stream(tests.id('s'));
    PERFORM tests.clear_authentication();
END
$$;
SELECT isnt(tests.purchase('nina', 'medium', 'n1'), NULL, 'nina, a new account, buys tokens');
SELECT isnt(tests.purchase('vel', 'small', 'v1'), NULL, 'vel, an old account, buys tokens');
SELECT tests.cfg('fraud.new_account_max_tip', '100');
SELECT tests.cfg('fraud.new_account_daily_tip_tokens', '250');

-- == The reviewer's scenario: a hold does what a tip may not ===============================================
SELECT tests.authenticate_as('nina');
SELECT is(tests.outcome(format('SELECT api.tip(%L, 500, %L)', tests.user_id('pia'), 't-500')), 'LP160',
          'new account: a tip of 500 over fraud.new_account_max_tip is LP160');
SELECT results_eq(format($$VALUES (tests.outcome(%L), tests.outcome(%L))$$,
                         format('SELECT api.tip(%L, 5000, %L)', tests.user_id('pia'), 't-5000'),
                         tests.place('pia', 5000, 'h-5000')),
                  $$VALUES ('LP160'::text, 'LP160'::text)$$,
                  'new account: a hold of 5000 for a tip is refused with the code a tip of 5000 gets (LP160)');
SELECT * FROM tests.rejects(tests.place('pia', 5000, 'h-5000'), 'LP160',
                            'new account: a hold over fraud.new_account_max_tip is LP160 (no hold to capture)');
SELECT * FROM tests.rejects(tests.place('pia', 101, 'h-101'), 'LP160',
                            'new account: a hold of 101 over the per-tip cap (100) is LP160');

-- == A hold within the caps passes and is counted, once ====================================================
SELECT tests.remember('h1', (api.place_hold(tests.user_id('pia'), 100, 'h-1', 'tip')).id);
SELECT is(tests.counter('nina'), '1/100', 'a hold at the cap (100) passes and counts as a tip: one this hour, 100 tokens today');
SELECT is((api.place_hold(tests.user_id('pia'), 100, 'h-1', 'tip')).id, tests.id('h1'),
          'a replay of place_hold returns the hold');
SELECT is(tests.counter('nina'), '1/100', 'a replayed place_hold counts once');
SELECT lives_ok(format('SELECT api.tip(%L, 100, %L)', tests.user_id('pia'), 't-1'),
                'a tip of 100 after the hold: 200 today');
SELECT * FROM tests.rejects(format('SELECT api.tip(%L, 51, %L)', tests.user_id('pia'), 't-2'), 'LP160',
                            'a following tip sees the hold''s tokens: 100 + 100 + 51 past fraud.new_account_daily_tip_tokens (250)');
SELECT * FROM tests.rejects(tests.place('pia', 51, 'h-2'), 'LP160',
                            'a following hold too: past the daily cap with the tips and holds of the day');
SELECT is((SELECT tokens_today FROM api.get_fraud_limits() WHERE kind = 'tip'), 200::bigint,
          'get_fraud_limits: the tokens of the day count the hold');
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format($$SELECT api.capture_hold(%L, 100, 'c-1')$$, tests.id('h1')), 'pia captures the hold at once');
SELECT is(tests.counter('nina'), '2/200', 'the capture counts nothing more (the hold was counted when placed)');

-- == Velocity: holds count as tips =========================================================================
SELECT tests.cfg('fraud.tips_per_hour', '2');
SELECT tests.authenticate_as('vel');
SELECT lives_ok(format('SELECT api.tip(%L, 10, %L)', tests.user_id('pia'), 'vt-1'), 'velocity: a tip, 1 of 2 this hour');
SELECT lives_ok(tests.place('pia', 5000, 'vh-1'), 'velocity: a hold (an old account with a payment: no cap), 2 of 2');
SELECT is(tests.cases('vel'), 1::bigint, 'velocity: the hold that reached fraud.tips_per_hour opened a fraud case');
SELECT * FROM tests.rejects(tests.place('pia', 10, 'vh-2'), 'LP161', 'velocity: a third hold in the hour is LP161');
SELECT * FROM tests.rejects(format('SELECT api.tip(%L, 10, %L)', tests.user_id('pia'), 'vt-2'), 'LP161',
                            'velocity: and a third tip too');
SELECT tests.cfg('fraud.tips_per_hour', '0');

-- == Shows: the reservation is a hold, the billing job's top-ups count toward the day ======================
SELECT tests.authenticate_as('sam');
SELECT * FROM tests.rejects(format($$SELECT api.request_show(%L, 'r-1')$$, tests.id('s')), 'LP160',
                            'request_show: a new account''s minimum reservation (2 x 60 = 120) over the per-tip cap is LP160');
SELECT tests.authenticate_as('pia');
SELECT lives_ok($$SELECT api.set_show_price('private', 50, 2)$$, 'pia lowers her private show to 50 a minute');
SELECT tests.authenticate_as('sam');
SELECT tests.remember('p1', (api.request_show(tests.id('s'), 'r-2')).id);
SELECT is(tests.counter('sam'), '1/100', 'request_show: the reservation (2 x 50) is counted as a hold');
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format('SELECT api.answer_show(%L, true)', tests.id('p1')), 'pia accepts: the show runs');
SELECT tests.clear_authentication();
SELECT tests.show_age(tests.id('p1'), 60);
SELECT is(tests.bill(), '1/50', 'bill_shows: the first minute');
SELECT is(tests.counter('sam'), '1/150',
          'the top-up of the billing job counts its tokens toward the day (not as a call of the velocity rule)');
-- one minute at a time: a top-up of 50 a minute while the day allows (250), then none: the reservation runs out
SELECT tests.show_age(tests.id('p1'), 60);
SELECT tests.bill();
SELECT tests.show_age(tests.id('p1'), 60);
SELECT tests.bill();
SELECT tests.show_age(tests.id('p1'), 60);
SELECT tests.bill();
SELECT tests.show_age(tests.id('p1'), 60);
SELECT tests.bill();
SELECT results_eq(format($$SELECT s.status::text, s.end_reason, p.billed_tokens, f.tip_tokens_day
                             FROM lp.shows AS s JOIN lp.show_participants AS p ON p.show_id = s.id
                             JOIN lp.spend_counters AS f ON f.user_id = p.user_id WHERE s.id = %L$$, tests.id('p1')),
                  $$VALUES ('ended'::text, 'viewer out of tokens'::text, 250::bigint, 250::bigint)$$,
                  'a new account''s show ends when a top-up would pass fraud.new_account_daily_tip_tokens: 250 paid in all, 250 counted');
-- a viewer without a counter row (a show joined before holds were counted) is still billed, the top-up uncounted:
-- the job makes no row while it holds shows
SELECT tests.authenticate_as('vel');
SELECT api.join_stream(tests.id('ps'));
SELECT tests.remember('p2', (api.request_show(tests.id('ps'), 'r-vel')).id);
SELECT tests.authenticate_as('pete');
SELECT api.answer_show(tests.id('p2'), true);
RESET ROLE;
DELETE FROM lp.spend_counters WHERE user_id = tests.user_id('vel');
SELECT tests.show_age(tests.id('p2'), 60);
SELECT is(tests.bill(), '1/50', 'bill_shows: a viewer without a spend counter row is billed all the same');
SELECT is(tests.counter('vel'), 'none', 'and no counter row is made for them by the job');

-- == Chargeback: captures of the buyer's holds count as tips ===============================================
-- cara buys 1100 tokens: tips pia 150 and reserves 150 for her (captured): 300 (27 %); reserves 700 for pete
-- (captured: 64 %).
SELECT tests.remember('cb', tests.purchase('cara', 'medium', 'c1'));
SELECT tests.authenticate_as('cara');
SELECT lives_ok(format('SELECT api.tip(%L, 150, %L)', tests.user_id('pia'), 'ct-1'), 'cara tips pia 150');
SELECT tests.remember('ch1', (api.place_hold(tests.user_id('pia'), 150, 'ch-1', 'tip')).id);
SELECT tests.remember('ch2', (api.place_hold(tests.user_id('pete'), 700, 'ch-2', 'private_show')).id);
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format($$SELECT api.capture_hold(%L, 150, 'cc-1')$$, tests.id('ch1')), 'pia captures cara''s hold of 150');
SELECT tests.authenticate_as('pete');
SELECT lives_ok(format($$SELECT api.capture_hold(%L, 700, 'cc-2')$$, tests.id('ch2')), 'pete captures cara''s hold of 700');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format($$SELECT api.chargeback_payment(%L, 'stolen card', 'cb-1')$$, tests.id('cb')),
                'the service records a chargeback of cara''s payment');
RESET ROLE;
SELECT is(tests.payout_holds('pete'), 1::bigint,
          'chargeback: a payout_hold on pete, who captured 64 % of the tokens through a hold (as for a tipped performer)');
SELECT is(tests.payout_holds('pia'), 1::bigint,
          'chargeback: a payout_hold on pia: her tips (14 %) and her capture (14 %) together pass fraud.chargeback_share_bps');

SELECT ok(tests.sound(), 'every transaction sums to 0 and so do all balances');

SELECT * FROM finish();
ROLLBACK;
