-- Holds (reservations): api.place_hold, api.capture_hold, api.release_hold, api.get_hold, api.list_holds,
-- api.expire_holds and lazy expiry, with every rejection and its SQLSTATE, the fee split of captures, idempotent
-- replays, and the invariant reserved = sum(amount - captured) over open holds after every operation.
BEGIN;
SELECT plan(214);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   20_money.sql:    tests.wallet, tests.claw, tests.reserved, tests.shards, tests.fees,
--                    tests.holds_consistent, tests.ledger_consistent, tests.hold(username, key),
--                    tests.hold_id, tests.make_due, tests.stream

-- Token economy helpers of this file (SECURITY DEFINER: they read and write past RLS, whatever role is acting).
--   tests.fund(username, n)       credits n tokens from the issuance wallet (as a completed purchase would)
--   tests.main(username), tests.total(username)
--                                 main balance; main + credit shards
--   tests.entries()               number of ledger entries
--   tests.snap() / tests.unchanged(description)
--                                 remember the whole economy state / assert it is still the same
--   tests.rejects(sql, sqlstate, description)
--                                 two assertions: the call raises sqlstate, and nothing changed
CREATE FUNCTION tests.main(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance FROM lp.wallets AS w WHERE w.id = tests.wallet(p_username)
$$;
CREATE FUNCTION tests.total(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT tests.main(p_username) + tests.shards(p_username)
$$;
CREATE FUNCTION tests.entries() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.ledger
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(concat_ws(',', w.id, w.balance, w.reserved, w.debt_since), ';' ORDER BY w.id) FROM lp.wallets AS w),
        (SELECT string_agg(concat_ws(',', s.wallet_id, s.shard, s.balance), ';' ORDER BY s.wallet_id, s.shard) FROM lp.wallet_shards AS s WHERE s.balance <> 0),
        'ledger ' || (SELECT count(*) FROM lp.ledger),
        (SELECT string_agg(concat_ws(',', h.id, h.status, h.captured, h.closed_at), ';' ORDER BY h.id) FROM lp.holds AS h),
        'captures ' || (SELECT count(*) FROM lp.hold_captures),
        'tips ' || (SELECT count(*) FROM lp.tips),
        'keys ' || (SELECT count(*) FROM lp.idempotency_keys),
        (SELECT string_agg(concat_ws(',', l.user_id, l.period, l.limit_tokens, l.pending_limit_tokens, l.pending_effective_at), ';'
                           ORDER BY l.user_id, l.period) FROM lp.spending_limits AS l),
        'audit ' || (SELECT count(*) FROM lp.audit_logs))
$$;

CREATE FUNCTION tests.capture_entries(p_capture_id uuid) RETURNS TABLE (owner text, on_shard boolean, amount bigint, entry_kind text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce(u.username::text, w.system_code), e.shard > 0, e.amount, e.entry_kind
      FROM lp.hold_captures AS c
      JOIN lp.ledger AS e ON e.transaction_id = c.transaction_id
      JOIN lp.wallets AS w ON w.id = e.wallet_id
      LEFT JOIN lp.users AS u ON u.id = w.user_id
     WHERE c.id = p_capture_id
$$;
CREATE FUNCTION tests.set_fee(p_bps integer) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.settings SET value = to_jsonb(p_bps) WHERE key = 'tips.fee_bps'
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vera');                  -- the holder
    PERFORM tests.create_user('victor');                -- another viewer
    PERFORM tests.create_user('pia', 'performer');      -- the payee
    PERFORM tests.create_user('paul', 'performer');     -- another performer
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('sam');                   -- suspended viewer
    PERFORM tests.create_user('petra', 'performer');    -- banned performer
    PERFORM tests.create_user('gone', 'performer');     -- deleted performer
    PERFORM tests.create_user('dora');                  -- viewer in debt
    PERFORM tests.create_user('cleo');                  -- viewer whose hold outlives a clawback
    UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('gone');
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, ends_at)
    VALUES (tests.user_id('sam'), 'suspension', 'cool off', now() + interval '1 day');
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason)
    VALUES (tests.user_id('petra'), 'ban', 'fraud');
    PERFORM tests.fund('vera', 10000);
    PERFORM tests.fund('victor', 2000);
    PERFORM tests.fund('sam', 1000);
    PERFORM tests.fund('dora', 100);
    PERFORM tests.claw('dora', 150);                    -- dora: balance -50, in debt
    PERFORM tests.fund('cleo', 1000);
    PERFORM tests.fund('paul', 500);                    -- a performer: lands on a credit shard
    INSERT INTO lp.streams (host_id, title, status, started_at, ended_at)
    VALUES (tests.user_id('pia'), 'pia live', 'live', now() - interval '1 hour', NULL),
           (tests.user_id('pia'), 'pia ended', 'ended', now() - interval '3 hours', now() - interval '2 hours'),
           (tests.user_id('pia'), 'pia scheduled', 'scheduled', NULL, NULL),
           (tests.user_id('pia'), 'pia cancelled', 'cancelled', NULL, NULL),
           (tests.user_id('paul'), 'paul live', 'live', now() - interval '1 hour', NULL);
END
$$;

SELECT is(tests.main('dora'), -50::bigint, 'setup: dora owes 50 tokens');
SELECT is(tests.shards('paul'), 500::bigint, 'setup: paul''s 500 tokens wait on a credit shard');

-- == api.place_hold ========================================================================================
SELECT tests.authenticate_as('vera');
SELECT tests.snap();
SELECT isnt((api.place_hold(tests.user_id('pia'), 1000, 'h1')).id, NULL, 'place_hold: vera reserves 1000 for pia');
SELECT results_eq(
    $$SELECT h.user_id, h.wallet_id, h.payee_id, h.amount, h.captured, h.status::text, h.purpose::text, h.stream_id,
             h.expires_at - h.created_at, h.closed_at FROM tests.hold('vera', 'h1') AS h$$,
    $$SELECT tests.user_id('vera'), tests.wallet('vera'), tests.user_id('pia'), 1000::bigint, 0::bigint,
             'open'::text, 'private_show'::text, NULL::uuid, interval '1440 minutes', NULL::timestamptz$$,
    'place_hold: an open private_show hold of 1000 living holds.max_minutes (1440) by default');
SELECT results_eq($$SELECT tests.main('vera'), tests.reserved('vera')$$, $$VALUES (10000::bigint, 1000::bigint)$$,
                  'place_hold: the balance stays, reserved grows by the amount (available 9000)');
SELECT is(tests.entries(), (SELECT (regexp_match(s.state, 'ledger (\d+)'))[1]::bigint FROM tests.snapshot AS s),
          'place_hold: no ledger entry (no token moves)');
SELECT ok(tests.holds_consistent(), 'invariant after place_hold: reserved = open holds'' remaining');

SELECT tests.snap();
SELECT is((api.place_hold(tests.user_id('pia'), 1000, 'h1')).id, tests.hold_id('vera', 'h1'),
          'place_hold replay (same key, same arguments): the original hold');
SELECT tests.unchanged('place_hold replay: nothing reserved twice');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 999, ''h1'')', tests.user_id('pia')), 'LP106',
                     'place_hold replay with another amount is LP106');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 1000, ''h1'', ''group_show'')', tests.user_id('pia')), 'LP106',
                     'place_hold replay with another purpose is LP106');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 1000, ''h1'', ''private_show'', interval ''1 hour'')', tests.user_id('pia')), 'LP106',
                     'place_hold replay with another lifetime is LP106');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 1000, ''h1'')', tests.user_id('paul')), 'LP106',
                     'place_hold replay with another payee is LP106');
SELECT is((api.place_hold(tests.user_id('pia'), 1000, 'h1', 'private_show', interval '24 hours')).id, tests.hold_id('vera', 'h1'),
          'place_hold replay naming the default lifetime explicitly (24 hours = 1440 minutes) is the same hold');

SELECT results_eq(
    format($$SELECT h.purpose::text, h.stream_id, h.expires_at - h.created_at
               FROM api.place_hold(%L, 500, 'h2', 'group_show', interval '30 minutes', %L) AS h$$,
           tests.user_id('pia'), tests.stream('pia live')),
    format($$VALUES ('group_show'::text, %L::uuid, interval '30 minutes')$$, tests.stream('pia live')),
    'place_hold: a group_show hold of 500 for 30 minutes on pia''s live stream');
SELECT is(tests.reserved('vera'), 1500::bigint, 'place_hold: reserved is now 1000 + 500');

-- Rejections: the code, and nothing changed.
SELECT tests.rejects(format('SELECT api.place_hold(%L, 0, ''bad-28'')', tests.user_id('pia')), 'LP103', 'place_hold: amount 0 is LP103');
SELECT tests.rejects(format('SELECT api.place_hold(%L, -5, ''bad-29'')', tests.user_id('pia')), 'LP103', 'place_hold: a negative amount is LP103');
SELECT tests.rejects(format('SELECT api.place_hold(%L, NULL, ''bad-30'')', tests.user_id('pia')), 'LP103', 'place_hold: a NULL amount is LP103');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-31'', ''lapdance'')', tests.user_id('pia')), 'LP018', 'place_hold: an unknown purpose is LP018');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-32'', NULL)', tests.user_id('pia')), 'LP018', 'place_hold: a NULL purpose is LP018');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-33'', ''other'', interval ''1441 minutes'')', tests.user_id('pia')), 'LP018',
                     'place_hold: a lifetime beyond holds.max_minutes is LP018');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-34'', ''other'', interval ''0'')', tests.user_id('pia')), 'LP018',
                     'place_hold: a zero lifetime is LP018');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-35'', ''other'', interval ''-5 minutes'')', tests.user_id('pia')), 'LP018',
                     'place_hold: a negative lifetime is LP018');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, NULL)', tests.user_id('pia')), 'LP018', 'place_hold: a missing key is LP018');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''  '')', tests.user_id('pia')), 'LP018', 'place_hold: a blank key is LP018');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, %L)', tests.user_id('pia'), repeat('k', 129)), 'LP018', 'place_hold: a key over 128 characters is LP018');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-36'')', tests.user_id('vera')), 'LP101', 'place_hold: for oneself is LP101');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-37'')', gen_random_uuid()), 'LP003', 'place_hold: an unknown payee is LP003');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-38'')', tests.user_id('gone')), 'LP003', 'place_hold: a deleted performer is LP003');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-39'')', tests.user_id('victor')), 'LP102', 'place_hold: a viewer payee is LP102');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-40'')', tests.user_id('adam')), 'LP102', 'place_hold: an admin payee is LP102');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-41'')', tests.user_id('petra')), 'LP108', 'place_hold: a banned payee is LP108');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-42'', ''private_show'', NULL, %L)', tests.user_id('pia'), gen_random_uuid()), 'LP003',
                     'place_hold: an unknown stream is LP003');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-43'', ''private_show'', NULL, %L)', tests.user_id('pia'), tests.stream('paul live')), 'LP104',
                     'place_hold: another host''s live stream is LP104');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-44'', ''private_show'', NULL, %L)', tests.user_id('pia'), tests.stream('pia ended')), 'LP104',
                     'place_hold: the payee''s ended stream is LP104');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-45'', ''private_show'', NULL, %L)', tests.user_id('pia'), tests.stream('pia scheduled')), 'LP104',
                     'place_hold: the payee''s scheduled stream is LP104');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-46'', ''private_show'', NULL, %L)', tests.user_id('pia'), tests.stream('pia cancelled')), 'LP104',
                     'place_hold: the payee''s cancelled stream is LP104');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 8501, ''bad-47'')', tests.user_id('pia')), 'LP100',
                     'place_hold: more than available (10000 - 1500 reserved) is LP100');
SELECT tests.authenticate_as('pia');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-48'')', tests.user_id('pia')), 'LP101', 'place_hold: a performer for herself is LP101');
SELECT tests.authenticate_as('sam');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-49'')', tests.user_id('pia')), 'LP022', 'place_hold: a suspended holder is LP022');
SELECT tests.authenticate_as('dora');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-50'')', tests.user_id('pia')), 'LP107', 'place_hold: a wallet in debt is LP107');
SELECT tests.authenticate_as(NULL);
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-51'')', tests.user_id('pia')), 'LP001', 'place_hold: nobody acting is LP001');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 10, ''bad-52'')', tests.user_id('pia')), 'LP001', 'place_hold: the service role with nobody acting is LP001 too');

-- Exactly the available balance is fine; one more token is not.
SELECT tests.authenticate_as('victor');
SELECT is((api.place_hold(tests.user_id('pia'), 2000, 'all-in')).amount, 2000::bigint, 'place_hold: exactly the available balance');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 1, ''one-more'')', tests.user_id('pia')), 'LP100', 'place_hold: then one token more is LP100');

-- Spending limits count holds (the details are in test_spending_limits.sql).
SELECT tests.clear_authentication();
INSERT INTO lp.spending_limits (user_id, period, limit_tokens) VALUES (tests.user_id('vera'), 'daily', 2000);
SELECT tests.authenticate_as('vera');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 501, ''over-limit'')', tests.user_id('pia')), 'LP105',
                     'place_hold: beyond the daily limit (1500 reserved + 501 > 2000) is LP105');
SELECT is((api.place_hold(tests.user_id('pia'), 500, 'at-limit')).amount, 500::bigint, 'place_hold: up to the limit is fine (1500 + 500 = 2000)');
SELECT tests.clear_authentication();
DELETE FROM lp.spending_limits WHERE user_id = tests.user_id('vera');

-- A performer's earnings wait on credit shards: placing a hold sweeps them in first.
SELECT tests.authenticate_as('paul');
SELECT is((api.place_hold(tests.user_id('pia'), 300, 'paul-1')).amount, 300::bigint, 'place_hold: a performer holds with earnings from the shards');
SELECT results_eq($$SELECT tests.main('paul'), tests.shards('paul'), tests.reserved('paul')$$, $$VALUES (500::bigint, 0::bigint, 300::bigint)$$,
                  'place_hold: the shards were swept into the main balance, 300 of it reserved');
SELECT ok(tests.holds_consistent(), 'invariant after the place_hold rules');

-- == api.capture_hold ======================================================================================
SELECT tests.authenticate_as('pia');
SELECT tests.snap();
SELECT results_eq(format($$SELECT c.hold_id, c.amount, c.fee_amount FROM api.capture_hold(%L, 400, 'c1') AS c$$, tests.hold_id('vera', 'h1')),
                  format($$VALUES (%L::uuid, 400::bigint, 80::bigint)$$, tests.hold_id('vera', 'h1')),
                  'capture_hold: pia captures 400 of h1; fee floor(400 * 2000 / 10000) = 80');
SELECT results_eq($$SELECT tests.main('vera'), tests.reserved('vera')$$, $$VALUES (9600::bigint, 1600::bigint)$$,
                  'capture_hold: vera -400, and 400 of her 2000 reserved tokens released with it');
SELECT results_eq($$SELECT tests.total('pia'), tests.fees()$$, $$VALUES (320::bigint, 80::bigint)$$,
                  'capture_hold: pia +320, the fee wallet +80');
SELECT set_eq(format('SELECT * FROM tests.capture_entries(%L)',
                     (SELECT c.id FROM lp.hold_captures AS c WHERE c.idempotency_key = 'c1')),
              $$VALUES ('vera', false, -400::bigint, 'hold_capture'), ('pia', true, 320::bigint, 'hold_capture'),
                       ('platform_fees', true, 80::bigint, 'hold_fee')$$,
              'capture_hold: one ledger transaction: vera''s main -400, pia''s shard +320, a fee shard +80');
SELECT results_eq($$SELECT h.captured, h.status::text FROM tests.hold('vera', 'h1') AS h$$, $$VALUES (400::bigint, 'open'::text)$$,
                  'capture_hold: the hold stays open with 600 left');
SELECT ok(tests.holds_consistent(), 'invariant after a partial capture');

SELECT tests.snap();
SELECT is((api.capture_hold(tests.hold_id('vera', 'h1'), 400, 'c1')).id, (SELECT c.id FROM lp.hold_captures AS c WHERE c.idempotency_key = 'c1'),
          'capture_hold replay (same key, same amount): the original capture');
SELECT tests.unchanged('capture_hold replay: nothing moved');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 300, ''c1'')', tests.hold_id('vera', 'h1')), 'LP106', 'capture_hold replay with another amount is LP106');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 601, ''c-big'')', tests.hold_id('vera', 'h1')), 'LP110', 'capture_hold: more than the 600 left is LP110');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 0, ''c-zero'')', tests.hold_id('vera', 'h1')), 'LP103', 'capture_hold: amount 0 is LP103');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, -1, ''c-neg'')', tests.hold_id('vera', 'h1')), 'LP103', 'capture_hold: a negative amount is LP103');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, NULL, ''c-null'')', tests.hold_id('vera', 'h1')), 'LP103', 'capture_hold: a NULL amount is LP103');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 10, NULL)', tests.hold_id('vera', 'h1')), 'LP018', 'capture_hold: a missing key is LP018');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 10, ''c-x'')', gen_random_uuid()), 'LP003', 'capture_hold: an unknown hold is LP003');
SELECT tests.authenticate_as('vera');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 10, ''c-x'')', tests.hold_id('vera', 'h1')), 'LP002', 'capture_hold: the holder may not capture (LP002)');
SELECT tests.authenticate_as('victor');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 10, ''c-x'')', tests.hold_id('vera', 'h1')), 'LP003', 'capture_hold: a stranger does not see the hold (LP003)');
SELECT tests.authenticate_as('paul');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 10, ''c-x'')', tests.hold_id('vera', 'h1')), 'LP003', 'capture_hold: another performer does not see it either (LP003)');
SELECT tests.authenticate_as('adam');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 10, ''c-x'')', tests.hold_id('vera', 'h1')), 'LP002', 'capture_hold: an admin sees it but may not capture (LP002)');
SELECT tests.authenticate_as(NULL);
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 10, ''c-x'')', tests.hold_id('vera', 'h1')), 'LP001', 'capture_hold: nobody acting (application role) is LP001');

-- The billing job: the service role with nobody acting.
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is((api.capture_hold(tests.hold_id('vera', 'h1'), 100, 'c2')).amount, 100::bigint, 'capture_hold: the service role captures with nobody acting');
SELECT is((api.capture_hold(tests.hold_id('vera', 'h1'), 500, 'c3')).amount, 500::bigint, 'capture_hold: a third capture takes the rest');
SELECT results_eq($$SELECT h.captured, h.status::text, h.closed_at IS NOT NULL FROM tests.hold('vera', 'h1') AS h$$,
                  $$VALUES (1000::bigint, 'captured'::text, true)$$, 'capture_hold: nothing left: captured, closed_at set');
SELECT results_eq($$SELECT tests.main('vera'), tests.reserved('vera'), tests.total('pia'), tests.fees()$$,
                  $$VALUES (9000::bigint, 1000::bigint, 800::bigint, 200::bigint)$$,
                  'capture_hold: over three captures vera paid 1000, pia got 800, fees 200; vera''s other holds reserve 1000');
SELECT ok(tests.holds_consistent(), 'invariant after the full capture');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 1, ''c4'')', tests.hold_id('vera', 'h1')), 'LP109', 'capture_hold: after a full capture is LP109');
SELECT tests.authenticate_as('pia');
SELECT is((api.capture_hold(tests.hold_id('vera', 'h1'), 400, 'c1')).id, (SELECT c.id FROM lp.hold_captures AS c WHERE c.idempotency_key = 'c1'),
          'capture_hold replay still returns the original capture once the hold is closed');

-- The fee split for other fee settings (rounded down; the payee keeps the odd tokens; zero legs left out).
SELECT tests.clear_authentication();
SELECT tests.fund('victor', 100000);
SELECT tests.authenticate_as('victor');
SELECT isnt((api.place_hold(tests.user_id('pia'), 50000, 'fees')).id, NULL, 'place_hold: victor reserves 50000 for the fee cases');
SELECT tests.clear_authentication();
CREATE TABLE tests.fee_cases (bps integer, amount bigint, fee bigint, payee_gain bigint, fee_gain bigint, entries bigint, ok boolean);
DO $$
DECLARE
    v_case record;
    v_n    integer := 0;
    v_pia  bigint;
    v_fees bigint;
    v_vic  bigint;
    v_cap  lp.hold_captures;
BEGIN
    PERFORM lp.set_identity(tests.user_id('pia'), NULL, 'session');  -- pia captures; the superuser reads
    FOR v_case IN SELECT * FROM (VALUES (0, 7), (1, 1), (1, 9999), (1, 10000), (2000, 1), (2000, 7), (2000, 12345),
                                        (3333, 1), (3333, 3), (3333, 7), (3333, 10001), (10000, 1), (10000, 77)) AS c (bps, amount)
    LOOP
        v_n := v_n + 1;
        PERFORM tests.set_fee(v_case.bps);
        v_pia := tests.total('pia'); v_fees := tests.fees(); v_vic := tests.main('victor');
        PERFORM set_config('role', 'livepanty_app', true);
        v_cap := api.capture_hold(tests.hold_id('victor', 'fees'), v_case.amount, 'fee-' || v_n);
        PERFORM set_config('role', 'none', true);
        INSERT INTO tests.fee_cases
        VALUES (v_case.bps, v_case.amount, v_cap.fee_amount, tests.total('pia') - v_pia, tests.fees() - v_fees,
                (SELECT count(*) FROM lp.ledger AS e WHERE e.transaction_id = v_cap.transaction_id),
                tests.main('victor') = v_vic - v_case.amount AND tests.ledger_consistent());
    END LOOP;
    PERFORM tests.set_fee(2000);
END
$$;
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT bps, amount, fee, payee_gain, fee_gain, entries, ok FROM tests.fee_cases ORDER BY bps, amount$$,
    $$VALUES (0, 7::bigint, 0::bigint, 7::bigint, 0::bigint, 2::bigint, true),
             (1, 1::bigint, 0::bigint, 1::bigint, 0::bigint, 2::bigint, true),
             (1, 9999::bigint, 0::bigint, 9999::bigint, 0::bigint, 2::bigint, true),
             (1, 10000::bigint, 1::bigint, 9999::bigint, 1::bigint, 3::bigint, true),
             (2000, 1::bigint, 0::bigint, 1::bigint, 0::bigint, 2::bigint, true),
             (2000, 7::bigint, 1::bigint, 6::bigint, 1::bigint, 3::bigint, true),
             (2000, 12345::bigint, 2469::bigint, 9876::bigint, 2469::bigint, 3::bigint, true),
             (3333, 1::bigint, 0::bigint, 1::bigint, 0::bigint, 2::bigint, true),
             (3333, 3::bigint, 0::bigint, 3::bigint, 0::bigint, 2::bigint, true),
             (3333, 7::bigint, 2::bigint, 5::bigint, 2::bigint, 3::bigint, true),
             (3333, 10001::bigint, 3333::bigint, 6668::bigint, 3333::bigint, 3::bigint, true),
             (10000, 1::bigint, 1::bigint, 0::bigint, 1::bigint, 2::bigint, true),
             (10000, 77::bigint, 77::bigint, 0::bigint, 77::bigint, 2::bigint, true)$$,
    'capture_hold fee split: fee = floor(C * bps / 10000), payee C - fee, holder -C exactly; a zero leg is left out; chains intact');

-- The payee's and the holder's state at capture time.
SELECT tests.authenticate_as('victor');
SELECT isnt((api.place_hold(tests.user_id('paul'), 100, 'for-paul')).id, NULL, 'place_hold: victor reserves 100 for paul');
SELECT tests.clear_authentication();
INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, ends_at)
VALUES (tests.user_id('paul'), 'suspension', 'cool off', now() + interval '1 hour');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 10, ''c-sanctioned'')', tests.hold_id('victor', 'for-paul')), 'LP108',
                     'capture_hold: a payee suspended since the hold was placed is LP108');
SELECT tests.clear_authentication();
UPDATE lp.user_sanctions SET revoked_at = now(), revoke_reason = 'done' WHERE user_id = tests.user_id('paul');

-- cleo holds 800 of 1000, then a refund claws back 500: balance 500 < reserved 800, so the wallet is in debt.
SELECT tests.authenticate_as('cleo');
SELECT isnt((api.place_hold(tests.user_id('pia'), 800, 'cleo-1')).id, NULL, 'place_hold: cleo reserves 800');
SELECT tests.clear_authentication();
SELECT tests.claw('cleo', 500);
SELECT isnt((SELECT w.debt_since FROM lp.wallets AS w WHERE w.id = tests.wallet('cleo')), NULL, 'setup: cleo''s wallet is in debt (500 < 800 reserved)');
SELECT tests.authenticate_as('pia');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 100, ''c-debt'')', tests.hold_id('cleo', 'cleo-1')), 'LP107',
                     'capture_hold: from a holder in debt is LP107');

-- == api.release_hold ======================================================================================
SELECT tests.authenticate_as('cleo');
SELECT results_eq(format($$SELECT h.status::text, h.closed_at IS NOT NULL FROM api.release_hold(%L, 'r-cleo') AS h$$, tests.hold_id('cleo', 'cleo-1')),
                  $$VALUES ('released'::text, true)$$, 'release_hold: the holder releases');
SELECT results_eq($$SELECT tests.main('cleo'), tests.reserved('cleo'), (SELECT w.debt_since FROM lp.wallets AS w WHERE w.id = tests.wallet('cleo'))$$,
                  $$VALUES (500::bigint, 0::bigint, NULL::timestamptz)$$,
                  'release_hold: reserved back to 0, and with it the debt is gone (balance 500 covers reserved 0)');

SELECT tests.authenticate_as('vera');
SELECT tests.snap();
SELECT results_eq(format($$SELECT h.id, h.status::text, h.captured FROM api.release_hold(%L, 'r1') AS h$$, tests.hold_id('vera', 'h2')),
                  format($$VALUES (%L::uuid, 'released'::text, 0::bigint)$$, tests.hold_id('vera', 'h2')),
                  'release_hold: vera releases h2');
SELECT results_eq($$SELECT tests.main('vera'), tests.reserved('vera'), tests.entries()$$,
                  $$SELECT 9000::bigint, 500::bigint, (SELECT (regexp_match(s.state, 'ledger (\d+)'))[1]::bigint FROM tests.snapshot AS s)$$,
                  'release_hold: 500 reserved tokens available again, balance unchanged, no ledger entry');
SELECT ok(tests.holds_consistent(), 'invariant after release_hold');
SELECT tests.snap();
SELECT results_eq(format($$SELECT h.id, h.status::text FROM api.release_hold(%L, 'r1') AS h$$, tests.hold_id('vera', 'h2')),
                  format($$VALUES (%L::uuid, 'released'::text)$$, tests.hold_id('vera', 'h2')),
                  'release_hold replay (same key): the original result');
SELECT tests.unchanged('release_hold replay: nothing released twice');
SELECT tests.rejects(format('SELECT api.release_hold(%L, ''r2'')', tests.hold_id('vera', 'h2')), 'LP109', 'release_hold: a second release (another key) is LP109');
SELECT tests.rejects(format('SELECT api.release_hold(%L, ''r1'')', tests.hold_id('vera', 'at-limit')), 'LP106', 'release_hold: the same key for another hold is LP106');
SELECT tests.rejects(format('SELECT api.release_hold(%L, ''r3'')', tests.hold_id('vera', 'h1')), 'LP109', 'release_hold: a captured hold is LP109');
SELECT tests.rejects(format('SELECT api.release_hold(%L, NULL)', tests.hold_id('vera', 'at-limit')), 'LP018', 'release_hold: a missing key is LP018');
SELECT tests.rejects(format('SELECT api.release_hold(%L, ''r3'')', gen_random_uuid()), 'LP003', 'release_hold: an unknown hold is LP003');
SELECT tests.authenticate_as('victor');
SELECT tests.rejects(format('SELECT api.release_hold(%L, ''r3'')', tests.hold_id('vera', 'at-limit')), 'LP003', 'release_hold: a stranger is LP003');
SELECT tests.authenticate_as('adam');
SELECT tests.rejects(format('SELECT api.release_hold(%L, ''r3'')', tests.hold_id('vera', 'at-limit')), 'LP002', 'release_hold: an admin (not a party) is LP002');
SELECT tests.authenticate_as(NULL);
SELECT tests.rejects(format('SELECT api.release_hold(%L, ''r3'')', tests.hold_id('vera', 'at-limit')), 'LP001', 'release_hold: nobody acting (application role) is LP001');
-- The payee may release (e.g. the show did not happen), and keys are the caller's own: pia's "r1" is not vera's.
SELECT tests.authenticate_as('pia');
SELECT is((api.release_hold(tests.hold_id('vera', 'at-limit'), 'r1')).status, 'released', 'release_hold: the payee releases, with a key vera used too');
SELECT is(tests.reserved('vera'), 0::bigint, 'release_hold: vera has nothing reserved any more');
-- A partly captured hold gives back only what is left; the back office releases with nobody acting.
SELECT is((api.capture_hold(tests.hold_id('victor', 'fees'), 1000, 'fees-more')).amount, 1000::bigint, 'capture_hold: pia takes 1000 more of victor''s 50000');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.snap();
SELECT results_eq(format($$SELECT h.status::text, h.amount - h.captured FROM api.release_hold(%L, 'r-fees') AS h$$, tests.hold_id('victor', 'fees')),
                  $$SELECT 'released'::text, (SELECT h.amount - h.captured FROM tests.hold('victor', 'fees') AS h)$$,
                  'release_hold: the service role releases a partly captured hold');
SELECT is(tests.reserved('victor'), 2000::bigint + 100, 'release_hold: only what was left returns (victor still reserves all-in 2000 and for-paul 100)');
SELECT ok(tests.holds_consistent(), 'invariant after releasing a partly captured hold');

-- == Expiry ================================================================================================
SELECT tests.authenticate_as('vera');
SELECT isnt((api.place_hold(tests.user_id('pia'), 700, 'e1')).id, NULL, 'place_hold: e1 (700)');
SELECT isnt((api.place_hold(tests.user_id('pia'), 800, 'e2')).id, NULL, 'place_hold: e2 (800)');
SELECT isnt((api.place_hold(tests.user_id('pia'), 900, 'e3')).id, NULL, 'place_hold: e3 (900)');
SELECT tests.clear_authentication();
SELECT tests.make_due('vera', 'e1');
SELECT tests.make_due('vera', 'e2');
SELECT tests.authenticate_as('pia');
SELECT tests.rejects(format('SELECT api.capture_hold(%L, 10, ''late'')', tests.hold_id('vera', 'e1')), 'LP109', 'capture_hold: a hold past its expiry is LP109');
SELECT tests.authenticate_as('vera');
SELECT tests.rejects(format('SELECT api.release_hold(%L, ''late'')', tests.hold_id('vera', 'e1')), 'LP109', 'release_hold: a hold past its expiry is LP109');
SELECT results_eq(format($$SELECT h.status::text, h.closed_at IS NOT NULL FROM api.get_hold(%L) AS h$$, tests.hold_id('vera', 'e1')),
                  $$VALUES ('expired'::text, true)$$, 'get_hold: reading a hold past its expiry expires it');
SELECT is(tests.reserved('vera'), 800::bigint + 900, 'get_hold: e1''s 700 are available again');
SELECT ok(tests.holds_consistent(), 'invariant after a lazy expiry');
SELECT tests.authenticate_as('vera', 'livepanty_service');
SELECT tests.rejects('SELECT api.expire_holds(0)', 'LP018', 'expire_holds: limit 0 is LP018');
SELECT tests.rejects('SELECT api.expire_holds(NULL)', 'LP018', 'expire_holds: a NULL limit is LP018');
SELECT tests.authenticate_as(NULL, 'livepanty_app');
SELECT throws_ok('SELECT api.expire_holds()', '42501', NULL, 'expire_holds: the application role may not run the job');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.expire_holds(), 1, 'expire_holds: the job expires the one due hold left (e2)');
SELECT results_eq($$SELECT h.status::text, tests.reserved('vera') FROM tests.hold('vera', 'e2') AS h$$, $$VALUES ('expired'::text, 900::bigint)$$,
                  'expire_holds: e2 expired, its 800 available again; e3 (not due) still reserves 900');
SELECT is(api.expire_holds(), 0, 'expire_holds: nothing more to do');
SELECT ok(tests.holds_consistent(), 'invariant after expire_holds');
SELECT tests.clear_authentication();
SELECT tests.make_due('vera', 'e3');
SELECT tests.make_due('victor', 'all-in');
SELECT tests.make_due('paul', 'paul-1');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.expire_holds(2), 2, 'expire_holds(2): a batch of at most 2');
SELECT is(api.expire_holds(2), 1, 'expire_holds(2): the last one in the next batch');
SELECT results_eq($$SELECT tests.reserved('vera'), tests.reserved('victor'), tests.reserved('paul')$$,
                  $$VALUES (0::bigint, 100::bigint, 0::bigint)$$, 'expire_holds: every due hold''s tokens are available again');
SELECT ok(tests.holds_consistent(), 'invariant after batched expiry');

-- A new hold releases the holder's due holds before it counts what is available.
SELECT tests.authenticate_as('victor');
CREATE TEMP TABLE victor_available ON COMMIT DROP AS SELECT tests.main('victor') - tests.reserved('victor') AS tokens;
SELECT isnt((api.place_hold(tests.user_id('paul'), (SELECT tokens FROM victor_available) - 100, 'big')).id, NULL,
            'place_hold: victor reserves all but 100 of his available tokens');
SELECT tests.clear_authentication();
SELECT tests.make_due('victor', 'big');
SELECT tests.authenticate_as('victor');
SELECT isnt((api.place_hold(tests.user_id('paul'), (SELECT tokens FROM victor_available) - 50, 'bigger')).id, NULL,
            'place_hold: succeeds only because the due hold was expired first');
SELECT is((tests.hold('victor', 'big')).status, 'expired', 'place_hold: the holder''s due hold is now expired');
SELECT ok(tests.holds_consistent(), 'invariant after place_hold''s lazy expiry');

-- == api.get_hold and api.list_holds =======================================================================
SELECT tests.authenticate_as('vera');
SELECT is((api.get_hold(tests.hold_id('vera', 'h1'))).status, 'captured', 'get_hold: the holder reads her hold');
SELECT tests.authenticate_as('pia');
SELECT is((api.get_hold(tests.hold_id('vera', 'h1'))).amount, 1000::bigint, 'get_hold: the payee reads it');
SELECT tests.authenticate_as('adam');
SELECT is((api.get_hold(tests.hold_id('vera', 'h1'))).amount, 1000::bigint, 'get_hold: an admin reads it');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is((api.get_hold(tests.hold_id('vera', 'h1'))).amount, 1000::bigint, 'get_hold: the service role reads it with nobody acting');
SELECT tests.authenticate_as('victor');
SELECT throws_ok(format('SELECT api.get_hold(%L)', tests.hold_id('vera', 'h1')), 'LP003', NULL, 'get_hold: a stranger is LP003');
SELECT throws_ok(format('SELECT api.get_hold(%L)', gen_random_uuid()), 'LP003', NULL, 'get_hold: an unknown hold is LP003');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok(format('SELECT api.get_hold(%L)', tests.hold_id('vera', 'h1')), 'LP001', NULL, 'get_hold: nobody acting (application role) is LP001');

SELECT tests.authenticate_as('vera');
SELECT is((SELECT count(*) FROM api.list_holds()), 6::bigint, 'list_holds: vera''s 6 holds as holder');
SELECT results_eq($$SELECT idempotency_key FROM api.list_holds('holder', NULL, NULL, 3)$$,
                  $$SELECT h.idempotency_key FROM lp.holds AS h WHERE h.user_id = tests.user_id('vera')
                     ORDER BY h.created_at DESC, h.id DESC LIMIT 3$$,
                  'list_holds: newest first, p_limit');
SELECT results_eq(format($$SELECT idempotency_key FROM api.list_holds('holder', NULL, %L, 100)$$,
                         (SELECT l.id FROM api.list_holds('holder', NULL, NULL, 3) AS l ORDER BY l.created_at, l.id LIMIT 1)),
                  $$SELECT h.idempotency_key FROM lp.holds AS h WHERE h.user_id = tests.user_id('vera')
                     ORDER BY h.created_at DESC, h.id DESC OFFSET 3$$,
                  'list_holds: the next page after the last id');
SELECT is((SELECT count(*) FROM api.list_holds('holder', 'expired')), 3::bigint, 'list_holds: filtered by status');
SELECT is((SELECT count(*) FROM api.list_holds('payee')), 0::bigint, 'list_holds: vera is nobody''s payee');
SELECT throws_ok($$SELECT * FROM api.list_holds('owner')$$, 'LP018', NULL, 'list_holds: p_as other than holder/payee is LP018');
SELECT throws_ok($$SELECT * FROM api.list_holds('holder', 'gone')$$, 'LP018', NULL, 'list_holds: an unknown status is LP018');
SELECT throws_ok($$SELECT * FROM api.list_holds('holder', NULL, NULL, 0)$$, 'LP018', NULL, 'list_holds: limit 0 is LP018');
SELECT throws_ok(format($$SELECT * FROM api.list_holds('holder', NULL, %L)$$, tests.hold_id('victor', 'fees')), 'LP018', NULL,
                 'list_holds: another user''s hold as cursor is LP018');
SELECT tests.authenticate_as('pia');
SELECT ok((SELECT count(*) FROM api.list_holds('payee')) >= 6, 'list_holds: pia sees the holds placed for her');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok($$SELECT * FROM api.list_holds()$$, 'LP001', NULL, 'list_holds: nobody acting is LP001');

-- RLS on the tables themselves: holder and payee read a hold, a stranger does not.
SELECT tests.authenticate_as('victor');
SELECT is_empty(format($$SELECT 1 FROM lp.holds WHERE id = %L$$, tests.hold_id('vera', 'h1')), 'RLS: a stranger reads no hold of vera''s');
SELECT is_empty(format($$SELECT 1 FROM lp.hold_captures WHERE hold_id = %L$$, tests.hold_id('vera', 'h1')), 'RLS: nor its captures');
SELECT tests.authenticate_as('pia');
SELECT is((SELECT count(*) FROM lp.hold_captures WHERE hold_id = tests.hold_id('vera', 'h1')), 3::bigint, 'RLS: the payee reads the 3 captures');

-- == Whole ledger ==========================================================================================
SELECT tests.clear_authentication();
SELECT ok(tests.holds_consistent(), 'in the end: every wallet''s reserved = its open holds'' remaining');
SELECT ok(tests.ledger_consistent(), 'in the end: every transaction sums to zero, every account''s chain is unbroken');
SELECT is((SELECT sum(w.balance) + (SELECT sum(s.balance) FROM lp.wallet_shards AS s) FROM lp.wallets AS w), 0::numeric,
          'in the end: all balances (users and system, main and shards) add up to zero');

SELECT * FROM finish();
ROLLBACK;
