-- Viewer spending limits: api.set_spending_limit (lowering at once, raising and removing after
-- limits.raise_cooldown_hours), api.get_spending_limits, and lp.check_spending_limit as every spend (api.tip,
-- api.place_hold) applies it: rolling day / 7 days / 30 days, tips and hold captures spent, open holds reserved.
BEGIN;
SELECT plan(87);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   20_money.sql:    tests.wallet, tests.claw, tests.reserved, tests.shards, tests.fees,
--                    tests.holds_consistent, tests.ledger_consistent, tests.hold(username, key),
--                    tests.hold_id, tests.make_due

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

CREATE FUNCTION tests.limit_row(p_username text, p_period text) RETURNS lp.spending_limits
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT l.* FROM lp.spending_limits AS l WHERE l.user_id = tests.user_id(p_username) AND l.period = p_period::lp.limit_period
$$;
-- Time travel for the cooling-off period: the pending change of a limit becomes due at now() + p_offset.
CREATE FUNCTION tests.pending_at(p_username text, p_period text, p_offset interval) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.spending_limits SET pending_effective_at = now() + p_offset
     WHERE user_id = tests.user_id(p_username) AND period = p_period::lp.limit_period
$$;
-- Time travel for spends: the ledger is append-only (its triggers refuse UPDATE), so the test ages the
-- entries of a user's spends with the triggers switched off for one statement (session_replication_role).
CREATE FUNCTION tests.age_spends(p_username text, p_age interval) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    PERFORM set_config('session_replication_role', 'replica', true);
    UPDATE lp.ledger AS e SET created_at = e.created_at - p_age
     WHERE e.transaction_id IN (SELECT x.transaction_id FROM lp.ledger AS x
                                 WHERE x.wallet_id = tests.wallet(p_username) AND x.entry_kind IN ('tip', 'hold_capture'));
    PERFORM set_config('session_replication_role', 'origin', true);
END
$$;
CREATE FUNCTION tests.limit_audits(p_username text) RETURNS TABLE (applied text, requested bigint, limit_tokens bigint, pending bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT a.details ->> 'applied', (a.details ->> 'requested')::bigint, (a.details ->> 'limit_tokens')::bigint,
           (a.details ->> 'pending_limit_tokens')::bigint
      FROM lp.audit_logs AS a
     WHERE a.action = 'limits.change' AND a.actor_id = tests.user_id(p_username) AND a.target_id = tests.user_id(p_username)::text
     ORDER BY a.id
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('victor');
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('paul', 'performer');
    PERFORM tests.fund('vera', 100000);
    PERFORM tests.fund('victor', 100000);
    PERFORM tests.fund('paul', 1000);
END
$$;

-- == api.set_spending_limit: validation ====================================================================
SELECT tests.authenticate_as('vera');
SELECT tests.rejects($$SELECT api.set_spending_limit('hourly', 100)$$, 'LP018', 'set_spending_limit: an unknown period is LP018');
SELECT tests.rejects($$SELECT api.set_spending_limit(NULL, 100)$$, 'LP018', 'set_spending_limit: a NULL period is LP018');
SELECT tests.rejects($$SELECT api.set_spending_limit('daily', 0)$$, 'LP103', 'set_spending_limit: a zero limit is LP103');
SELECT tests.rejects($$SELECT api.set_spending_limit('daily', -100)$$, 'LP103', 'set_spending_limit: a negative limit is LP103');
SELECT tests.authenticate_as(NULL);
SELECT tests.rejects($$SELECT api.set_spending_limit('daily', 100)$$, 'LP001', 'set_spending_limit: nobody acting is LP001');
SELECT throws_ok($$SELECT * FROM api.get_spending_limits()$$, 'LP001', NULL, 'get_spending_limits: nobody acting is LP001');

-- == Setting, lowering: at once ============================================================================
SELECT tests.authenticate_as('vera');
SELECT is_empty($$SELECT * FROM api.get_spending_limits()$$, 'get_spending_limits: no limits to begin with');
SELECT tests.snap();
SELECT results_eq($$SELECT period::text, limit_tokens, pending_limit_tokens, pending_effective_at FROM api.set_spending_limit('daily', NULL)$$,
                  $$VALUES ('daily'::text, NULL::bigint, NULL::bigint, NULL::timestamptz)$$,
                  'set_spending_limit: removing a limit there is none of is a no-op');
SELECT is_empty($$SELECT * FROM tests.limit_audits('vera')$$, 'set_spending_limit: ... and not audited');
SELECT is_empty($$SELECT * FROM api.get_spending_limits()$$, '... and lists nothing');
SELECT results_eq($$SELECT period::text, limit_tokens, pending_limit_tokens, pending_effective_at FROM api.set_spending_limit('daily', 1000)$$,
                  $$VALUES ('daily'::text, 1000::bigint, NULL::bigint, NULL::timestamptz)$$,
                  'set_spending_limit: a first limit applies at once');
SELECT results_eq($$SELECT limit_tokens, pending_limit_tokens FROM api.set_spending_limit('daily', 600)$$,
                  $$VALUES (600::bigint, NULL::bigint)$$, 'set_spending_limit: a lower limit applies at once');
SELECT results_eq($$SELECT period::text, limit_tokens, pending_limit_tokens, pending_effective_at, spent, reserved, remaining FROM api.get_spending_limits()$$,
                  $$VALUES ('daily'::text, 600::bigint, NULL::bigint, NULL::timestamptz, 0::bigint, 0::bigint, 600::bigint)$$,
                  'get_spending_limits: the daily cap of 600, nothing spent yet');
SELECT results_eq($$SELECT applied, requested, limit_tokens, pending FROM tests.limit_audits('vera')$$,
                  $$VALUES ('now', 1000::bigint, 1000::bigint, NULL::bigint), ('now', 600::bigint, 600::bigint, NULL::bigint)$$,
                  'set_spending_limit: each change is audited (limits.change)');

-- == Every spend respects the limit ========================================================================
SELECT is((api.tip(tests.user_id('pia'), 400, 't1')).amount, 400::bigint, 'tip: 400 of the daily 600');
SELECT tests.rejects(format('SELECT api.tip(%L, 201, ''t-over'')', tests.user_id('pia')), 'LP105', 'tip: 400 + 201 > 600 is LP105');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 201, ''h-over'')', tests.user_id('pia')), 'LP105', 'place_hold: 400 + 201 > 600 is LP105');
SELECT is((api.place_hold(tests.user_id('pia'), 150, 'h1')).amount, 150::bigint, 'place_hold: 150 more fits (550 of 600)');
SELECT results_eq($$SELECT spent, reserved, remaining FROM api.get_spending_limits()$$, $$VALUES (400::bigint, 150::bigint, 50::bigint)$$,
                  'get_spending_limits: spent 400 (the tip), reserved 150 (the open hold), 50 left');
SELECT tests.rejects(format('SELECT api.tip(%L, 51, ''t-over'')', tests.user_id('pia')), 'LP105', 'tip: the open hold counts (400 + 150 + 51 > 600)');
SELECT is((api.tip(tests.user_id('pia'), 50, 't2')).amount, 50::bigint, 'tip: exactly up to the limit is fine');
SELECT tests.rejects(format('SELECT api.tip(%L, 1, ''t-over'')', tests.user_id('pia')), 'LP105', 'tip: then a single token more is LP105');
-- A capture moves what the hold reserved: it was counted when the hold was placed, so it is not checked again,
-- even after the holder lowered the limit.
SELECT is((api.set_spending_limit('daily', 100)).limit_tokens, 100::bigint, 'set_spending_limit: vera lowers to 100 (below what she spent)');
SELECT tests.authenticate_as('pia');
SELECT is((api.capture_hold(tests.hold_id('vera', 'h1'), 100, 'c1')).amount, 100::bigint, 'capture_hold: the payee still captures from the hold');
SELECT tests.authenticate_as('vera');
SELECT results_eq($$SELECT spent, reserved, remaining FROM api.get_spending_limits()$$, $$VALUES (550::bigint, 50::bigint, 0::bigint)$$,
                  'get_spending_limits: captures count as spent (450 in tips + 100 captured), 50 still reserved');
SELECT is((api.release_hold(tests.hold_id('vera', 'h1'), 'r1')).status, 'released', 'release_hold: vera releases the rest');
SELECT is((SELECT reserved FROM api.get_spending_limits()), 0::bigint, 'get_spending_limits: a released hold reserves nothing');
-- A hold past its expiry no longer counts either (it can never be captured).
SELECT tests.clear_authentication();
UPDATE lp.spending_limits SET limit_tokens = 10000 WHERE user_id = tests.user_id('vera') AND period = 'daily';
SELECT tests.authenticate_as('vera');
SELECT is((api.place_hold(tests.user_id('pia'), 9000, 'h2')).amount, 9000::bigint, 'place_hold: 9000 (550 + 9000 of 10000)');
SELECT tests.rejects(format('SELECT api.tip(%L, 451, ''t-over'')', tests.user_id('pia')), 'LP105', 'tip: the open hold of 9000 counts');
SELECT tests.clear_authentication();
SELECT tests.make_due('vera', 'h2');
SELECT tests.authenticate_as('vera');
SELECT is((SELECT reserved FROM api.get_spending_limits()), 0::bigint, 'get_spending_limits: a hold past its expiry reserves nothing');
SELECT is((api.tip(tests.user_id('pia'), 451, 't3')).amount, 451::bigint, 'tip: passes once the hold is past its expiry');

-- == Raising: only after the cooling-off period ============================================================
SELECT tests.clear_authentication();
UPDATE lp.spending_limits SET limit_tokens = 1001 WHERE user_id = tests.user_id('vera') AND period = 'daily';  -- 1001 spent: nothing left
SELECT tests.authenticate_as('vera');
SELECT tests.snap();
SELECT results_eq($$SELECT limit_tokens, pending_limit_tokens, pending_effective_at FROM api.set_spending_limit('daily', 5000)$$,
                  $$VALUES (1001::bigint, 5000::bigint, now() + interval '24 hours')$$,
                  'set_spending_limit: a raise waits limits.raise_cooldown_hours (24)');
SELECT results_eq($$SELECT limit_tokens, pending_limit_tokens, pending_effective_at, remaining FROM api.get_spending_limits()$$,
                  $$VALUES (1001::bigint, 5000::bigint, now() + interval '24 hours', 0::bigint)$$,
                  'get_spending_limits: the cap in force and the pending raise');
SELECT tests.rejects(format('SELECT api.tip(%L, 1, ''t-over'')', tests.user_id('pia')), 'LP105', 'tip: the raise is not in force yet');
-- Asking for a smaller raise keeps the time already set; a bigger one starts the wait again.
SELECT tests.clear_authentication();
SELECT tests.pending_at('vera', 'daily', interval '1 hour');
SELECT tests.authenticate_as('vera');
SELECT results_eq($$SELECT pending_limit_tokens, pending_effective_at FROM api.set_spending_limit('daily', 3000)$$,
                  $$VALUES (3000::bigint, now() + interval '1 hour')$$,
                  'set_spending_limit: a smaller raise than the pending one keeps its time');
SELECT results_eq($$SELECT pending_limit_tokens, pending_effective_at FROM api.set_spending_limit('daily', 4000)$$,
                  $$VALUES (4000::bigint, now() + interval '24 hours')$$,
                  'set_spending_limit: a bigger raise than the pending one waits the full period again');
-- The cooling-off period is over.
SELECT tests.clear_authentication();
SELECT tests.pending_at('vera', 'daily', interval '-1 second');
SELECT tests.authenticate_as('vera');
SELECT results_eq($$SELECT limit_tokens, pending_limit_tokens, pending_effective_at, remaining FROM api.get_spending_limits()$$,
                  $$VALUES (4000::bigint, NULL::bigint, NULL::timestamptz, 2999::bigint)$$,
                  'get_spending_limits: after the cooling-off period the raise is the cap, nothing pending');
SELECT is((api.tip(tests.user_id('pia'), 2999, 't4')).amount, 2999::bigint, 'tip: the raised cap is in force');
SELECT tests.rejects(format('SELECT api.tip(%L, 1, ''t-over'')', tests.user_id('pia')), 'LP105', 'tip: up to the raised cap only');
SELECT results_eq($$SELECT limit_tokens, pending_limit_tokens, pending_effective_at FROM api.set_spending_limit('daily', 4500)$$,
                  $$VALUES (4000::bigint, 4500::bigint, now() + interval '24 hours')$$,
                  'set_spending_limit: a due raise is folded in before the next change (4000 in force, 4500 pending)');
-- A lowering cancels a pending raise.
SELECT results_eq($$SELECT limit_tokens, pending_limit_tokens, pending_effective_at FROM api.set_spending_limit('daily', 4000)$$,
                  $$VALUES (4000::bigint, NULL::bigint, NULL::timestamptz)$$,
                  'set_spending_limit: setting the cap in force again cancels the pending raise');
SELECT is((api.set_spending_limit('daily', 9000)).pending_limit_tokens, 9000::bigint, 'set_spending_limit: raise to 9000 pending');
SELECT results_eq($$SELECT limit_tokens, pending_limit_tokens, pending_effective_at FROM api.set_spending_limit('daily', 3500)$$,
                  $$VALUES (3500::bigint, NULL::bigint, NULL::timestamptz)$$,
                  'set_spending_limit: a lowering applies at once and cancels the pending raise');

-- == Removing: also only after the cooling-off period ======================================================
SELECT results_eq($$SELECT limit_tokens, pending_limit_tokens, pending_effective_at FROM api.set_spending_limit('daily', NULL)$$,
                  $$VALUES (3500::bigint, NULL::bigint, now() + interval '24 hours')$$,
                  'set_spending_limit: a removal is pending (no pending cap, a time)');
SELECT tests.rejects(format('SELECT api.tip(%L, 500, ''t-over'')', tests.user_id('pia')), 'LP105', 'tip: the cap holds while its removal is pending');
SELECT results_eq($$SELECT pending_limit_tokens, pending_effective_at FROM api.set_spending_limit('daily', 8000)$$,
                  $$VALUES (8000::bigint, now() + interval '24 hours')$$,
                  'set_spending_limit: a raise instead of the pending removal keeps the removal''s time');
SELECT results_eq($$SELECT pending_limit_tokens, pending_effective_at FROM api.set_spending_limit('daily', NULL)$$,
                  $$VALUES (NULL::bigint, now() + interval '24 hours')$$,
                  'set_spending_limit: back to a removal');
SELECT tests.clear_authentication();
SELECT tests.pending_at('vera', 'daily', interval '-1 second');
SELECT tests.authenticate_as('vera');
SELECT is_empty($$SELECT * FROM api.get_spending_limits()$$, 'get_spending_limits: once the removal is due, no limit is listed');
SELECT is((api.tip(tests.user_id('pia'), 50000, 't5')).amount, 50000::bigint, 'tip: no limit any more');
SELECT results_eq($$SELECT limit_tokens, pending_limit_tokens, pending_effective_at FROM api.set_spending_limit('daily', 70000)$$,
                  $$VALUES (70000::bigint, NULL::bigint, NULL::timestamptz)$$,
                  'set_spending_limit: after a removal a new limit is a first limit again (at once)');
SELECT tests.clear_authentication();
UPDATE lp.settings SET value = '48' WHERE key = 'limits.raise_cooldown_hours';
SELECT tests.authenticate_as('vera');
SELECT is((api.set_spending_limit('daily', 80000)).pending_effective_at, now() + interval '48 hours',
          'set_spending_limit: the cooling-off period follows limits.raise_cooldown_hours (now 48)');
SELECT is((SELECT count(*) FROM tests.limit_audits('vera')), 15::bigint, 'set_spending_limit: every change was audited (15)');

-- == Periods and rolling windows ===========================================================================
SELECT tests.authenticate_as('victor');
SELECT is((api.set_spending_limit('daily', 1000)).limit_tokens, 1000::bigint, 'victor: daily 1000');
SELECT is((api.set_spending_limit('weekly', 1500)).limit_tokens, 1500::bigint, 'victor: weekly 1500');
SELECT is((api.set_spending_limit('monthly', 2000)).limit_tokens, 2000::bigint, 'victor: monthly 2000');
SELECT is((api.tip(tests.user_id('pia'), 900, 'v1')).amount, 900::bigint, 'tip: victor 900 (in every window)');
SELECT tests.clear_authentication();
SELECT tests.age_spends('victor', interval '2 days');   -- 900 spent two days ago: out of the daily window
SELECT tests.authenticate_as('victor');
SELECT results_eq($$SELECT period::text, spent, remaining FROM api.get_spending_limits()$$,
                  $$VALUES ('daily'::text, 0::bigint, 1000::bigint), ('weekly', 900::bigint, 600::bigint), ('monthly', 900::bigint, 1100::bigint)$$,
                  'get_spending_limits: a spend 2 days ago counts for the week and month only');
SELECT tests.rejects(format('SELECT api.tip(%L, 601, ''v-over'')', tests.user_id('pia')), 'LP105', 'tip: within the daily cap but over the weekly one is LP105');
SELECT is((api.tip(tests.user_id('pia'), 600, 'v2')).amount, 600::bigint, 'tip: up to the weekly cap');
SELECT tests.clear_authentication();
SELECT tests.age_spends('victor', interval '8 days');   -- now 10 and 8 days ago: out of the weekly window too
SELECT tests.authenticate_as('victor');
SELECT results_eq($$SELECT period::text, spent FROM api.get_spending_limits()$$,
                  $$VALUES ('daily'::text, 0::bigint), ('weekly', 0::bigint), ('monthly', 1500::bigint)$$,
                  'get_spending_limits: spends 8-10 days ago count for the month only');
SELECT tests.rejects(format('SELECT api.place_hold(%L, 501, ''v-over'')', tests.user_id('pia')), 'LP105', 'place_hold: over the monthly cap (1500 + 501 > 2000) is LP105');
SELECT tests.clear_authentication();
SELECT tests.age_spends('victor', interval '30 days');  -- 38 and 40 days ago: out of every window
SELECT tests.authenticate_as('victor');
SELECT is((SELECT sum(spent) FROM api.get_spending_limits()), 0::numeric, 'get_spending_limits: spends older than 30 days count nowhere');
SELECT is((api.place_hold(tests.user_id('pia'), 1000, 'v3')).amount, 1000::bigint, 'place_hold: the whole daily cap is free again');

-- Only spending counts: tokens received (tips to a performer) and purchases do not.
SELECT tests.authenticate_as('paul');
SELECT is((api.set_spending_limit('daily', 100)).limit_tokens, 100::bigint, 'paul (a performer) sets a daily limit of 100');
SELECT tests.authenticate_as('vera');
SELECT is((api.tip(tests.user_id('paul'), 5000, 'to-paul')).amount, 5000::bigint, 'vera tips paul 5000');
SELECT tests.authenticate_as('paul');
SELECT results_eq($$SELECT spent, reserved, remaining FROM api.get_spending_limits()$$, $$VALUES (0::bigint, 0::bigint, 100::bigint)$$,
                  'get_spending_limits: tips received are not spending');
SELECT is((api.tip(tests.user_id('pia'), 100, 'paul-1')).amount, 100::bigint, 'tip: paul spends his 100');
SELECT tests.rejects(format('SELECT api.tip(%L, 1, ''paul-over'')', tests.user_id('pia')), 'LP105', 'tip: and no more');

-- == RLS ===================================================================================================
SELECT tests.authenticate_as('victor');
SELECT is((SELECT count(*) FROM lp.spending_limits), 3::bigint, 'RLS: victor reads his own three limits only');

SELECT tests.clear_authentication();
SELECT ok(tests.holds_consistent(), 'in the end: reserved = open holds'' remaining');
SELECT ok(tests.ledger_consistent(), 'in the end: the ledger is consistent');

SELECT * FROM finish();
ROLLBACK;
