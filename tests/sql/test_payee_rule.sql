-- Who may be paid, one rule (lp.payee_refusal, worded by lp.payee_refusal_message, raised by lp.refuse_payee):
-- api.tip, api.place_hold and api.tip_many refuse the same payees with the same code and the same message, in the
-- same order (the payer's own sanction, LP022, before any payee check); api.capture_hold words its payee
-- refusals the same way. Every call is made in a subtransaction that is rolled back (tests.outcome).
BEGIN;
SELECT plan(38);

-- Shared helpers (tests/sql/helpers/*.sql): tests.create_user, tests.user_id, tests.authenticate_as,
-- tests.clear_authentication, tests.put / tests.get, tests.remember / tests.id, tests.wallet.

-- Helpers of this file.
--   tests.fund(username, n)          credits n tokens from the issuance wallet
--   tests.outcome(sql)               'ok' when the statement succeeds, else 'SQLSTATE: message'; either way
--                                    nothing it did stays (its subtransaction is rolled back)
--   tests.tip_many_outcome(token, recipient)
--                                    the same for a one-tip api.tip_many: 'ok' or 'error_code: error_message'
CREATE FUNCTION tests.outcome(p_sql text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_ok boolean := false;
BEGIN
    BEGIN
        EXECUTE p_sql;
        v_ok := true;
        RAISE EXCEPTION USING ERRCODE = 'TT000';  -- undo it
    EXCEPTION WHEN OTHERS THEN
        RETURN CASE WHEN v_ok THEN 'ok' ELSE SQLSTATE || ': ' || SQLERRM END;
    END;
END
$$;
CREATE FUNCTION tests.tip_many_outcome(p_token text, p_recipient uuid) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_row    record;
    v_result text;
BEGIN
    BEGIN
        SELECT t.* INTO v_row
          FROM api.tip_many(jsonb_build_array(jsonb_build_object(
                   'session_token', p_token, 'recipient_id', p_recipient, 'amount', 10,
                   'idempotency_key', gen_random_uuid()::text))) AS t;
        v_result := CASE WHEN v_row.error_code IS NULL THEN 'ok' ELSE v_row.error_code || ': ' || v_row.error_message END;
        RAISE EXCEPTION USING ERRCODE = 'TT000';  -- undo it
    EXCEPTION WHEN SQLSTATE 'TT000' THEN
        NULL;
    END;
    RETURN v_result;
END
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vera');                 -- the payer
    PERFORM tests.create_user('sam');                  -- a payer suspended after logging in
    PERFORM tests.create_user('pia', 'performer');     -- may be paid
    PERFORM tests.create_user('wendy', 'performer');   -- warned: may be paid
    PERFORM tests.create_user('victor');               -- viewer
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('petra', 'performer');   -- banned
    PERFORM tests.create_user('stella', 'performer');  -- suspended
    PERFORM tests.create_user('gone', 'performer');    -- deleted
    PERFORM tests.create_user('quinn', 'performer');   -- deleted after a hold was placed for her
    PERFORM tests.create_user('bella', 'performer');   -- has blocked vera and sam
    PERFORM tests.fund('vera', 1000);
    PERFORM tests.fund('sam', 1000);
    PERFORM tests.put('vera', api.login('vera', tests.password()));
    PERFORM tests.put('sam', api.login('sam', tests.password()));
    UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('gone');
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, ends_at)
    VALUES (tests.user_id('sam'), 'suspension', 'cool off', now() + interval '1 day'),
           (tests.user_id('petra'), 'ban', 'fraud', NULL),
           (tests.user_id('stella'), 'suspension', 'cool off', now() + interval '1 day'),
           (tests.user_id('wendy'), 'warning', 'be nice', NULL);
    PERFORM tests.remember('nobody', gen_random_uuid());
    INSERT INTO lp.performer_blocks (performer_id, blocked_id)
    VALUES (tests.user_id('bella'), tests.user_id('vera')), (tests.user_id('bella'), tests.user_id('sam'));
END
$$;

CREATE TEMP TABLE cases (ord integer, payee text, payee_id uuid, expected text, what text) ON COMMIT DROP;
GRANT SELECT ON cases TO PUBLIC;
INSERT INTO cases
VALUES (1, 'vera', tests.user_id('vera'), 'LP101', 'the payer themselves'),
       (2, 'nobody', tests.id('nobody'), 'LP003', 'an unknown user'),
       (3, 'gone', tests.user_id('gone'), 'LP003', 'a deleted performer'),
       (4, 'victor', tests.user_id('victor'), 'LP102', 'a viewer'),
       (5, 'mona', tests.user_id('mona'), 'LP102', 'a moderator'),
       (6, 'adam', tests.user_id('adam'), 'LP102', 'an admin'),
       (7, 'petra', tests.user_id('petra'), 'LP108', 'a banned performer'),
       (8, 'stella', tests.user_id('stella'), 'LP108', 'a suspended performer'),
       (9, 'wendy', tests.user_id('wendy'), 'ok', 'a warned performer'),
       (10, 'bella', tests.user_id('bella'), 'LP124', 'a performer who blocked the payer');
CREATE TEMP TABLE outcomes (payer text, ord integer, via text, outcome text) ON COMMIT DROP;
GRANT SELECT, INSERT ON outcomes TO PUBLIC;

-- Every case through the three doors, as the payer.
SELECT tests.authenticate_as('vera');
INSERT INTO outcomes
SELECT 'vera', c.ord, v.via,
       CASE v.via
           WHEN 'tip' THEN tests.outcome(format('SELECT api.tip(%L, 10, %L)', c.payee_id, 'k' || c.ord))
           WHEN 'place_hold' THEN tests.outcome(format('SELECT api.place_hold(%L, 10, %L)', c.payee_id, 'k' || c.ord))
           ELSE tests.tip_many_outcome(tests.get('vera', 'token'), c.payee_id)
       END
  FROM cases AS c CROSS JOIN (VALUES ('tip'), ('place_hold'), ('tip_many')) AS v (via);
SELECT tests.authenticate_as('sam');
INSERT INTO outcomes
SELECT 'sam', c.ord, v.via,
       CASE v.via
           WHEN 'tip' THEN tests.outcome(format('SELECT api.tip(%L, 10, %L)', c.payee_id, 'k' || c.ord))
           WHEN 'place_hold' THEN tests.outcome(format('SELECT api.place_hold(%L, 10, %L)', c.payee_id, 'k' || c.ord))
           ELSE tests.tip_many_outcome(tests.get('sam', 'token'), c.payee_id)
       END
  FROM cases AS c CROSS JOIN (VALUES ('tip'), ('place_hold'), ('tip_many')) AS v (via);
SELECT tests.clear_authentication();

-- 30 assertions: each door refuses each case with the rule's code and its one message (or accepts it).
SELECT is(o.outcome,
          CASE WHEN c.expected = 'ok' THEN 'ok' ELSE c.expected || ': ' || lp.payee_refusal_message(c.expected) END,
          format('%s: %s as payee is %s', o.via, c.what, c.expected))
  FROM cases AS c JOIN outcomes AS o ON o.ord = c.ord AND o.payer = 'vera'
 ORDER BY c.ord, o.via;
SELECT is((SELECT count(*) FROM outcomes WHERE payer = 'sam'), 30::bigint, 'a suspended payer: every case was tried');
SELECT is_empty($$SELECT o.via || ' ' || c.payee || ': ' || o.outcome FROM outcomes AS o JOIN cases AS c USING (ord)
                   WHERE o.payer = 'sam' AND o.outcome NOT LIKE 'LP022: %'$$,
                'a suspended payer is LP022 through every door, whoever the payee (the payer''s sanction first)');

-- The rule itself: its order, and a NULL refuses.
SELECT results_eq(
    $$SELECT lp.payee_refusal(x.payer, x.payee, x.found, x.role::lp.user_role, x.sanctioned, x.blocked, x.kyc)
        FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid, 'a0000000-0000-4000-8000-000000000001'::uuid, true, 'performer', false, true, NULL),
                     (2, 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', false, NULL, NULL, NULL, NULL),
                     (3, 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', NULL, 'performer', false, false, NULL),
                     (4, 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', true, 'viewer', true, true, NULL),
                     (5, 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', true, NULL, false, false, NULL),
                     (6, 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', true, 'performer', true, true, NULL),
                     (7, 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', true, 'performer', NULL, false, NULL),
                     (8, 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', true, 'performer', false, true, NULL),
                     (9, 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', true, 'performer', false, NULL, NULL),
                     (10, 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', true, 'performer', false, false, NULL),
                     (11, 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', true, 'performer', false, true, 'no approved identity verification'),
                     (12, 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002', true, 'performer', true, false, 'no approved identity verification'))
             AS x (k, payer, payee, found, role, sanctioned, blocked, kyc)
       ORDER BY x.k$$,
    $$VALUES ('LP101'), ('LP003'), ('LP003'), ('LP102'), ('LP102'), ('LP108'), ('LP108'), ('LP124'), ('LP124'), (NULL), ('LP135'), ('LP108')$$,
    'lp.payee_refusal: self, then not found, then not a performer, then sanctioned, then no valid KYC (LP135), then blocked; a NULL refuses; else NULL');
SELECT ok((SELECT bool_and(l.lanname = 'sql' AND p.provolatile = 'i' AND p.proconfig IS NULL AND NOT p.prosecdef)
             FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
            WHERE p.oid IN ('lp.payee_refusal(uuid,uuid,boolean,lp.user_role,boolean,boolean,text)'::regprocedure,
                            'lp.payee_refusal_message(text)'::regprocedure)),
          'lp.payee_refusal and lp.payee_refusal_message stay inlinable (SQL, IMMUTABLE, no SET, not SECURITY DEFINER)');
SELECT throws_ok($$SELECT lp.refuse_payee('LP108')$$, 'LP108', 'the payee cannot be paid now',
                 'lp.refuse_payee raises the code with its message');
SELECT throws_ok($$SELECT lp.refuse_payee('LP022')$$, 'LP199', NULL, 'lp.refuse_payee: any other code is LP199');

-- api.capture_hold: the payee's state at capture time, worded the same way.
SELECT tests.authenticate_as('vera');
SELECT tests.put('h-pia', api.place_hold(tests.user_id('pia'), 100, 'h-pia'));
SELECT tests.put('h-quinn', api.place_hold(tests.user_id('quinn'), 100, 'h-quinn'));
SELECT tests.clear_authentication();
INSERT INTO lp.user_sanctions (user_id, sanction_type, reason) VALUES (tests.user_id('pia'), 'ban', 'fraud');
UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('quinn');
SELECT tests.authenticate_as('pia');
INSERT INTO outcomes
SELECT 'pia', 0, 'capture_hold', tests.outcome(format('SELECT api.capture_hold(%L, 10, ''c1'')', tests.pid('h-pia')));
SELECT tests.authenticate_as(NULL, 'livepanty_service');
INSERT INTO outcomes
SELECT 'service', 0, 'capture_hold', tests.outcome(format('SELECT api.capture_hold(%L, 10, ''c1'')', tests.pid('h-quinn')));
SELECT tests.clear_authentication();
SELECT is((SELECT outcome FROM outcomes WHERE payer = 'pia'), 'LP108: ' || lp.payee_refusal_message('LP108'),
          'capture_hold: a payee banned since the hold was placed is LP108, worded as the payee rule words it');
SELECT is((SELECT outcome FROM outcomes WHERE payer = 'service'), 'LP003: ' || lp.payee_refusal_message('LP003'),
          'capture_hold: a payee deleted since the hold was placed is LP003, worded as the payee rule words it');

SELECT * FROM finish();
ROLLBACK;
