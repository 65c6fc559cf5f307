-- Tips: api.tip with every rule and rejection (and its SQLSTATE, nothing changed after it), the exact fee split
-- for several amounts and tips.fee_bps settings, idempotent replays, and who may read a tip (RLS, anonymous tips).
BEGIN;
SELECT plan(94);

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

CREATE FUNCTION tests.tip(p_username text, p_key text) RETURNS lp.tips
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT t.* FROM lp.tips AS t WHERE t.sender_id = tests.user_id(p_username) AND t.idempotency_key = p_key
$$;
CREATE FUNCTION tests.tip_entries(p_tip_id uuid) RETURNS TABLE (owner text, shard_kind text, amount bigint, entry_kind text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce(u.username::text, w.system_code), CASE WHEN e.shard = 0 THEN 'main' ELSE 'shard' END, e.amount, e.entry_kind
      FROM lp.tips AS t
      JOIN lp.ledger AS e ON e.transaction_id = t.transaction_id
      JOIN lp.wallets AS w ON w.id = e.wallet_id
      LEFT JOIN lp.users AS u ON u.id = w.user_id
     WHERE t.id = p_tip_id AND e.reference_type = 'tip' AND e.reference_id = t.id
$$;
CREATE FUNCTION tests.set_setting(p_key text, p_value jsonb) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.settings SET value = p_value WHERE key = p_key
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vera');                  -- the sender
    PERFORM tests.create_user('victor');                -- a viewer with 50 tokens
    PERFORM tests.create_user('pia', 'performer');      -- the recipient
    PERFORM tests.create_user('paul', 'performer');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('sam');                   -- suspended viewer
    PERFORM tests.create_user('ben');                   -- banned viewer
    PERFORM tests.create_user('petra', 'performer');    -- suspended performer
    PERFORM tests.create_user('bert', 'performer');     -- banned performer
    PERFORM tests.create_user('gone', 'performer');     -- deleted performer
    PERFORM tests.create_user('dora');                  -- viewer in debt
    PERFORM tests.create_user('zoe');                   -- tips sanctioned performers
    UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('gone');
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, ends_at)
    VALUES (tests.user_id('sam'), 'suspension', 'cool off', now() + interval '1 day'),
           (tests.user_id('petra'), 'suspension', 'cool off', now() + interval '1 day');
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason)
    VALUES (tests.user_id('ben'), 'ban', 'fraud'), (tests.user_id('bert'), 'ban', 'fraud');
    PERFORM tests.fund('vera', 1000000);
    PERFORM tests.fund('victor', 50);
    PERFORM tests.fund('sam', 1000);
    PERFORM tests.fund('ben', 1000);
    PERFORM tests.fund('dora', 100);
    PERFORM tests.claw('dora', 150);
    PERFORM tests.fund('paul', 500);
    PERFORM tests.fund('zoe', 1000);
    PERFORM tests.set_setting('tips.min_tokens', '5');
    PERFORM tests.set_setting('tips.max_tokens', '5000');
    INSERT INTO lp.streams (host_id, title, status, started_at, ended_at)
    VALUES (tests.user_id('pia'), 'pia live', 'live', now() - interval '1 hour', NULL),
           (tests.user_id('pia'), 'pia ended', 'ended', now() - interval '3 hours', now() - interval '2 hours'),
           (tests.user_id('pia'), 'pia scheduled', 'scheduled', NULL, NULL),
           (tests.user_id('pia'), 'pia cancelled', 'cancelled', NULL, NULL),
           (tests.user_id('paul'), 'paul live', 'live', now() - interval '1 hour', NULL);
END
$$;

-- == A tip =================================================================================================
SELECT tests.authenticate_as('vera');
SELECT tests.snap();
SELECT results_eq(
    format($$SELECT t.sender_id, t.recipient_id, t.stream_id, t.amount, t.fee_amount, t.message, t.is_anonymous, t.status::text
               FROM api.tip(%L, 100, 'k1', %L, '  thanks!  ') AS t$$, tests.user_id('pia'), tests.stream('pia live')),
    format($$VALUES (%L::uuid, %L::uuid, %L::uuid, 100::bigint, 20::bigint, 'thanks!'::text, false, 'completed'::text)$$,
           tests.user_id('vera'), tests.user_id('pia'), tests.stream('pia live')),
    'tip: vera tips pia 100 in her live stream; fee 20 (tips.fee_bps 2000), message trimmed');
SELECT results_eq($$SELECT tests.main('vera'), tests.total('pia'), tests.main('pia'), tests.fees()$$,
                  $$VALUES (999900::bigint, 80::bigint, 0::bigint, 20::bigint)$$,
                  'tip: vera -100, pia +80 (on a credit shard, her main balance untouched), platform fees +20');
SELECT set_eq(format('SELECT * FROM tests.tip_entries(%L)', (tests.tip('vera', 'k1')).id),
              $$VALUES ('vera', 'main', -100::bigint, 'tip'), ('pia', 'shard', 80::bigint, 'tip'), ('platform_fees', 'shard', 20::bigint, 'tip_fee')$$,
              'tip: one ledger transaction: the sender''s main balance -100, a performer shard +80, a fee shard +20');
SELECT is(tests.entries() - (SELECT (regexp_match(s.state, 'ledger (\d+)'))[1]::bigint FROM tests.snapshot AS s), 3::bigint,
          'tip: exactly three ledger entries');
SELECT is((SELECT t.idempotency_key FROM lp.tips AS t WHERE t.id = (tests.tip('vera', 'k1')).id), 'k1', 'RLS: the sender reads her tip');

-- Idempotency.
SELECT tests.snap();
SELECT is((api.tip(tests.user_id('pia'), 100, 'k1', tests.stream('pia live'), 'thanks!')).id, (tests.tip('vera', 'k1')).id,
          'tip replay (same key, same arguments): the original tip');
SELECT tests.unchanged('tip replay: nothing moved');
SELECT tests.rejects(format('SELECT api.tip(%L, 101, ''k1'', %L, ''thanks!'')', tests.user_id('pia'), tests.stream('pia live')), 'LP106', 'tip replay with another amount is LP106');
SELECT tests.rejects(format('SELECT api.tip(%L, 100, ''k1'', %L, ''thanks!'')', tests.user_id('paul'), tests.stream('pia live')), 'LP106', 'tip replay with another recipient is LP106');
SELECT tests.rejects(format('SELECT api.tip(%L, 100, ''k1'', NULL, ''thanks!'')', tests.user_id('pia')), 'LP106', 'tip replay without the stream is LP106');
SELECT tests.rejects(format('SELECT api.tip(%L, 100, ''k1'', %L, ''thank you'')', tests.user_id('pia'), tests.stream('pia live')), 'LP106', 'tip replay with another message is LP106');
SELECT tests.rejects(format('SELECT api.tip(%L, 100, ''k1'', %L, ''thanks!'', true)', tests.user_id('pia'), tests.stream('pia live')), 'LP106', 'tip replay made anonymous is LP106');

-- == Rejections: the code, and nothing changed =============================================================
SELECT tests.rejects(format('SELECT api.tip(%L, 4, ''bad-1'')', tests.user_id('pia')), 'LP103', 'tip: below tips.min_tokens (5) is LP103');
SELECT tests.rejects(format('SELECT api.tip(%L, 5001, ''bad-2'')', tests.user_id('pia')), 'LP103', 'tip: above tips.max_tokens (5000) is LP103');
SELECT tests.rejects(format('SELECT api.tip(%L, 0, ''bad-3'')', tests.user_id('pia')), 'LP103', 'tip: 0 is LP103');
SELECT tests.rejects(format('SELECT api.tip(%L, -10, ''bad-4'')', tests.user_id('pia')), 'LP103', 'tip: a negative amount is LP103');
SELECT tests.rejects(format('SELECT api.tip(%L, NULL, ''bad-5'')', tests.user_id('pia')), 'LP103', 'tip: a NULL amount is LP103');
SELECT is((api.tip(tests.user_id('pia'), 5, 'min')).amount, 5::bigint, 'tip: exactly tips.min_tokens is fine');
SELECT is((api.tip(tests.user_id('pia'), 5000, 'max')).amount, 5000::bigint, 'tip: exactly tips.max_tokens is fine');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-6'')', gen_random_uuid()), 'LP003', 'tip: an unknown recipient is LP003');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-7'')', tests.user_id('gone')), 'LP003', 'tip: a deleted performer is LP003');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-8'')', tests.user_id('victor')), 'LP102', 'tip: a viewer recipient is LP102');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-9'')', tests.user_id('adam')), 'LP102', 'tip: an admin recipient is LP102');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-10'')', tests.user_id('mona')), 'LP102', 'tip: a moderator recipient is LP102');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-11'', %L)', tests.user_id('pia'), gen_random_uuid()), 'LP003', 'tip: an unknown stream is LP003');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-12'', %L)', tests.user_id('pia'), tests.stream('pia ended')), 'LP104', 'tip: in the recipient''s ended stream is LP104');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-13'', %L)', tests.user_id('pia'), tests.stream('pia cancelled')), 'LP104', 'tip: in a cancelled stream is LP104');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-14'', %L)', tests.user_id('pia'), tests.stream('pia scheduled')), 'LP104', 'tip: in a scheduled stream is LP104');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-15'', %L)', tests.user_id('pia'), tests.stream('paul live')), 'LP104', 'tip: in another host''s live stream is LP104');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-16'', NULL, %L)', tests.user_id('pia'), repeat('x', 501)), 'LP018', 'tip: a message over 500 characters is LP018');
SELECT is((api.tip(tests.user_id('pia'), 10, 'long', NULL, repeat('x', 500))).message, repeat('x', 500), 'tip: a message of exactly 500 characters is fine');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, NULL)', tests.user_id('pia')), 'LP018', 'tip: a missing key is LP018');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, '' '')', tests.user_id('pia')), 'LP018', 'tip: a blank key is LP018');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, %L)', tests.user_id('pia'), repeat('k', 129)), 'LP018', 'tip: a key over 128 characters is LP018');
SELECT tests.authenticate_as('zoe');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-17'')', tests.user_id('petra')), 'LP108', 'tip: a suspended recipient is LP108');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-18'')', tests.user_id('bert')), 'LP108', 'tip: a banned recipient is LP108');
SELECT tests.authenticate_as('pia');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-19'')', tests.user_id('pia')), 'LP101', 'tip: a performer tipping herself is LP101');
SELECT tests.authenticate_as('sam');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-20'')', tests.user_id('pia')), 'LP022', 'tip: a suspended sender is LP022');
SELECT tests.authenticate_as('ben');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-21'')', tests.user_id('pia')), 'LP022', 'tip: a banned sender is LP022');
SELECT tests.authenticate_as('victor');
SELECT tests.rejects(format('SELECT api.tip(%L, 51, ''bad-22'')', tests.user_id('pia')), 'LP100', 'tip: more than the available balance (50) is LP100');
SELECT is((api.tip(tests.user_id('pia'), 50, 'all')).amount, 50::bigint, 'tip: exactly the available balance is fine');
SELECT tests.rejects(format('SELECT api.tip(%L, 5, ''bad-23'')', tests.user_id('pia')), 'LP100', 'tip: then an empty wallet is LP100');
SELECT tests.authenticate_as('dora');
SELECT tests.rejects(format('SELECT api.tip(%L, 5, ''bad-24'')', tests.user_id('pia')), 'LP107', 'tip: a wallet in debt is LP107');
SELECT tests.clear_authentication();
INSERT INTO lp.spending_limits (user_id, period, limit_tokens) VALUES (tests.user_id('vera'), 'daily', 5200);
SELECT tests.authenticate_as('vera');
SELECT tests.rejects(format('SELECT api.tip(%L, 86, ''bad-25'')', tests.user_id('pia')), 'LP105', 'tip: beyond the daily spending limit (5115 + 86 > 5200) is LP105');
SELECT is((api.tip(tests.user_id('pia'), 85, 'limit')).amount, 85::bigint, 'tip: up to the spending limit is fine');
SELECT tests.clear_authentication();
DELETE FROM lp.spending_limits WHERE user_id = tests.user_id('vera');
SELECT tests.authenticate_as(NULL);
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-26'')', tests.user_id('pia')), 'LP001', 'tip: nobody acting is LP001');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.rejects(format('SELECT api.tip(%L, 10, ''bad-27'')', tests.user_id('pia')), 'LP001', 'tip: the service role with nobody acting is LP001 too');

-- A performer's own earnings wait on her shards: tipping sweeps them into her main balance first.
SELECT tests.authenticate_as('paul');
SELECT is((api.tip(tests.user_id('pia'), 300, 'paul-1')).amount, 300::bigint, 'tip: paul tips from the earnings on his shards');
SELECT results_eq($$SELECT tests.main('paul'), tests.shards('paul')$$, $$VALUES (200::bigint, 0::bigint)$$,
                  'tip: paul''s shards were swept into his main balance, then debited');

-- == The fee split =========================================================================================
SELECT tests.clear_authentication();
CREATE TABLE tests.fee_cases (bps integer, amount bigint, fee bigint, sender bigint, performer bigint, fees bigint,
                              performer_on_shard boolean, sender_on_main boolean, error text);
CREATE FUNCTION tests.fee_case(p_bps integer, p_amount bigint) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    v_vera bigint := tests.main('vera');
    v_pia  bigint := tests.total('pia');
    v_fees bigint := tests.fees();
    v_tip  lp.tips;
BEGIN
    PERFORM tests.set_setting('tips.fee_bps', to_jsonb(p_bps));
    BEGIN
        PERFORM lp.set_identity(tests.user_id('vera'), NULL, 'session');
        PERFORM set_config('role', 'livepanty_app', true);
        v_tip := api.tip(tests.user_id('pia'), p_amount, format('fee-%s-%s', p_bps, p_amount));
        PERFORM set_config('role', 'none', true);
        INSERT INTO tests.fee_cases
        SELECT p_bps, p_amount, v_tip.fee_amount, tests.main('vera') - v_vera, tests.total('pia') - v_pia, tests.fees() - v_fees,
               (SELECT bool_and(e.shard > 0) FROM lp.ledger AS e WHERE e.transaction_id = v_tip.transaction_id AND e.wallet_id = tests.wallet('pia')),
               (SELECT bool_and(e.shard = 0) FROM lp.ledger AS e WHERE e.transaction_id = v_tip.transaction_id AND e.wallet_id = tests.wallet('vera')),
               NULL;
    EXCEPTION WHEN OTHERS THEN
        PERFORM set_config('role', 'none', true);
        INSERT INTO tests.fee_cases (bps, amount, error) VALUES (p_bps, p_amount, SQLSTATE);
    END;
    PERFORM set_config('lp.user_id', '', true);
END
$$;
SELECT tests.fee_case(c.bps, c.amount)
  FROM (VALUES (0, 5), (0, 4999), (1, 5), (1, 5000), (2000, 5), (2000, 7), (2000, 4999), (3333, 5), (3333, 7),
               (3333, 1000), (3333, 4999), (10000, 5), (10000, 77)) AS c (bps, amount);
SELECT tests.set_setting('tips.fee_bps', '2000');
SELECT results_eq(
    $$SELECT bps, amount, fee, sender, performer, fees, performer_on_shard, sender_on_main, error FROM tests.fee_cases WHERE bps < 10000 ORDER BY bps, amount$$,
    $$VALUES (0, 5::bigint, 0::bigint, -5::bigint, 5::bigint, 0::bigint, true, true, NULL::text),
             (0, 4999::bigint, 0::bigint, -4999::bigint, 4999::bigint, 0::bigint, true, true, NULL),
             (1, 5::bigint, 0::bigint, -5::bigint, 5::bigint, 0::bigint, true, true, NULL),
             (1, 5000::bigint, 0::bigint, -5000::bigint, 5000::bigint, 0::bigint, true, true, NULL),
             (2000, 5::bigint, 1::bigint, -5::bigint, 4::bigint, 1::bigint, true, true, NULL),
             (2000, 7::bigint, 1::bigint, -7::bigint, 6::bigint, 1::bigint, true, true, NULL),
             (2000, 4999::bigint, 999::bigint, -4999::bigint, 4000::bigint, 999::bigint, true, true, NULL),
             (3333, 5::bigint, 1::bigint, -5::bigint, 4::bigint, 1::bigint, true, true, NULL),
             (3333, 7::bigint, 2::bigint, -7::bigint, 5::bigint, 2::bigint, true, true, NULL),
             (3333, 1000::bigint, 333::bigint, -1000::bigint, 667::bigint, 333::bigint, true, true, NULL),
             (3333, 4999::bigint, 1666::bigint, -4999::bigint, 3333::bigint, 1666::bigint, true, true, NULL)$$,
    'tip fee split (fee_bps 0, 1, 2000, 3333): fee = floor(A * bps / 10000), sender -A on main, performer +(A - fee) on a shard, fees +fee');
SELECT results_eq(
    $$SELECT bps, amount, fee, sender, performer, fees, error FROM tests.fee_cases WHERE bps = 10000 ORDER BY amount$$,
    $$VALUES (10000, 5::bigint, 5::bigint, -5::bigint, 0::bigint, 5::bigint, NULL::text),
             (10000, 77::bigint, 77::bigint, -77::bigint, 0::bigint, 77::bigint, NULL)$$,
    'tip fee split (fee_bps 10000): the whole tip is the fee, the performer gets nothing (and no zero entry)');
SELECT ok(tests.ledger_consistent(), 'tips: every transaction sums to zero, every (wallet, shard) chain is unbroken');

-- == Anonymous tips: hidden from the recipient, never from the sender or admins ===========================
SELECT tests.authenticate_as('vera');
SELECT is((api.tip(tests.user_id('pia'), 10, 'anon', NULL, NULL, true)).is_anonymous, true, 'tip: an anonymous tip');
SELECT is((SELECT count(*) FROM lp.tips AS t WHERE t.id = (tests.tip('vera', 'anon')).id), 1::bigint, 'RLS: the sender reads her anonymous tip');
SELECT tests.authenticate_as('pia');
SELECT is_empty(format('SELECT 1 FROM lp.tips WHERE id = %L', (tests.tip('vera', 'anon')).id), 'RLS: the recipient does not read the anonymous tip (it names the sender)');
SELECT is((SELECT count(*) FROM lp.tips AS t WHERE t.id = (tests.tip('vera', 'k1')).id), 1::bigint, 'RLS: the recipient reads a signed tip');
SELECT tests.authenticate_as('adam');
SELECT is((SELECT t.sender_id FROM lp.tips AS t WHERE t.id = (tests.tip('vera', 'anon')).id), tests.user_id('vera'), 'RLS: an admin reads the anonymous tip with its sender');
SELECT tests.authenticate_as('victor');
SELECT is_empty(format('SELECT 1 FROM lp.tips WHERE id IN (%L, %L)', (tests.tip('vera', 'anon')).id, (tests.tip('vera', 'k1')).id),
                'RLS: another viewer reads neither');

SELECT tests.clear_authentication();
SELECT is((SELECT sum(w.balance) + (SELECT sum(s.balance) FROM lp.wallet_shards AS s) FROM lp.wallets AS w), 0::numeric,
          'in the end: all balances add up to zero');

SELECT * FROM finish();
ROLLBACK;
