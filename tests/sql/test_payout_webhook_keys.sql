-- Payout processing (api.send_payout, api.mark_payout_paid, api.mark_payout_failed: livepanty_service only)
-- records its idempotency keys in the back office's key space whoever it acts as (lp.idempotency_slot), like the
-- payment webhooks (tests/sql/test_webhook_keys.sql): the processor's key names one step of one transfer, so a
-- retry answers the same whether it is sent with nobody acting or through api.act_as (any user). Before, the key
-- was kept per acting user: the same step retried the other way found no key and was refused by the payout's
-- state (LP004), or, for another payout, did the work under a second key instead of LP106. The transitions other
-- roles may run (api.approve_payout, ...) keep their keys per caller.
BEGIN;
SELECT plan(33);

-- Shared helpers (tests/sql/helpers/*.sql): tests.create_user, tests.user_id, tests.authenticate_as,
-- tests.clear_authentication, tests.put, tests.pid, tests.remember, tests.id, tests.wallet, tests.sound,
-- tests.rejects, tests.snap, tests.unchanged.
-- Helpers of this file:
--   tests.service(username)   the back office (livepanty_service), through api.act_as(username) when one is
--                             given (audited auth.act_as), with nobody acting otherwise
--   tests.answer(sql)         the jsonb the query returns, or {"refused": SQLSTATE, "message": ...} (so that a
--                             retry refused by the payout's state fails its assertion instead of the file)
--   tests.stored(key)         a first answer kept with tests.put
--   tests.fund(username, n)   n bought tokens (issuance -> the user)
--   tests.state()             what a retry or a refusal must leave as it was: balances, ledger, payouts, keys,
--                             audit rows (those of api.act_as itself aside)
--   tests.entries(payout)     the payout's ledger entries
--   tests.status(payout)      its status
CREATE FUNCTION tests.service(p_username text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    IF p_username IS NOT NULL THEN
        PERFORM api.act_as(tests.user_id(p_username), 'payout processing');
    END IF;
    RETURN format('# the back office, acting as %s', coalesce(p_username, 'nobody'));
END
$$;
CREATE FUNCTION tests.answer(p_sql text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    v_answer jsonb;
BEGIN
    EXECUTE p_sql INTO v_answer;
    RETURN v_answer;
EXCEPTION WHEN OTHERS THEN
    RETURN jsonb_build_object('refused', SQLSTATE, 'message', SQLERRM);
END
$$;
CREATE FUNCTION tests.stored(p_key text) RETURNS jsonb
    LANGUAGE sql STABLE AS $$ SELECT value FROM tests.ctx WHERE key = p_key $$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', w.id, w.balance, w.reserved, w.debt_since), ';' ORDER BY w.id) FROM lp.wallets AS w),
        (SELECT string_agg(concat_ws(',', s.wallet_id, s.shard, s.balance), ';' ORDER BY s.wallet_id, s.shard) FROM lp.wallet_shards AS s),
        (SELECT count(*) FROM lp.ledger),
        (SELECT string_agg(p::text, ';' ORDER BY p.id) FROM lp.payouts AS p),
        (SELECT string_agg(k::text, ';' ORDER BY k.scope, k.key) FROM lp.idempotency_keys AS k),
        (SELECT count(*) FROM lp.audit_logs WHERE action <> 'auth.act_as')))
$$;
CREATE FUNCTION tests.entries(p_payout uuid) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.ledger AS e WHERE e.reference_type = 'payout' AND e.reference_id = p_payout
$$;
CREATE FUNCTION tests.status(p_payout uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT p.status::text FROM lp.payouts AS p WHERE p.id = p_payout
$$;

-- pia: a performer who cashes out; vic: a viewer who tips; adam: an admin. Earnings are payable at once
-- (payouts.hold_days 0). vic tips pia 40000 (she earns 32000); she asks for five payouts of 5000 (p1..p5) and
-- adam approves them all.
DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.fund('vic', 100000);
    UPDATE lp.settings SET value = '0' WHERE key = 'payouts.hold_days';
    PERFORM tests.authenticate_as('vic');
    PERFORM api.tip(tests.user_id('pia'), 40000, 'earn');
    PERFORM tests.authenticate_as('pia');
    FOR i IN 1..5 LOOP
        PERFORM tests.remember('p' || i, (api.request_payout(5000, 'bank_transfer', 'req-' || i)).id);
    END LOOP;
    PERFORM tests.authenticate_as('adam');
    FOR i IN 1..5 LOOP
        PERFORM api.approve_payout(tests.id('p' || i), 'appr-' || i);
    END LOOP;
    PERFORM tests.clear_authentication();
END
$$;
SELECT is((SELECT string_agg(tests.status(tests.id('p' || i)), ',' ORDER BY i) FROM generate_series(1, 5) AS i),
          'approved,approved,approved,approved,approved', 'setup: five payouts of pia, approved');

-- == send_payout: through act_as, then retried with nobody acting (and the other way) =========================
SELECT tests.service('vic');
SELECT tests.put('s1', api.send_payout(tests.id('p1'), 'send-1'));
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.service(NULL);
SELECT is(tests.answer(format('SELECT to_jsonb(api.send_payout(%L, %L))', tests.id('p1'), 'send-1')), tests.stored('s1'),
          'send_payout through act_as(vic), retried with nobody acting: the same answer');
SELECT tests.service('adam');
SELECT is(tests.answer(format('SELECT to_jsonb(api.send_payout(%L, %L))', tests.id('p1'), 'send-1')), tests.stored('s1'),
          '... and retried through act_as(adam): the same answer');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... the retries changed nothing (payout, key, audit)');
SELECT tests.service(NULL);
SELECT tests.put('s2', api.send_payout(tests.id('p2'), 'send-2'));
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.service('pia');
SELECT is(tests.answer(format('SELECT to_jsonb(api.send_payout(%L, %L))', tests.id('p2'), 'send-2')), tests.stored('s2'),
          'send_payout with nobody acting, retried through act_as(pia): the same answer');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and the retry changed nothing');
-- The same key for another (approved) payout: LP106 whoever acts, and p3 stays approved.
SELECT tests.service('adam');
SELECT * FROM tests.rejects(format('SELECT api.send_payout(%L, %L)', tests.id('p3'), 'send-1'), 'LP106',
                            'send_payout: a key already used for another payout is LP106 through act_as(adam)');
SELECT tests.service(NULL);
SELECT * FROM tests.rejects(format('SELECT api.send_payout(%L, %L)', tests.id('p3'), 'send-1'), 'LP106',
                            '... and with nobody acting');
SELECT tests.clear_authentication();
SELECT is((SELECT count(*) FROM lp.idempotency_keys WHERE scope = 'payouts.send'), 2::bigint,
          'send_payout: one key recorded per claim');
SELECT ok((SELECT bool_and(key LIKE 'service:%') FROM lp.idempotency_keys WHERE scope = 'payouts.send'),
          '... in the back office''s key space');

-- == mark_payout_paid (p1, p2 are sending) ===================================================================
SELECT tests.service('pia');
SELECT tests.put('m1', api.mark_payout_paid(tests.id('p1'), 'SEPA-1', 'paid-1'));
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.service(NULL);
SELECT is(tests.answer(format('SELECT to_jsonb(api.mark_payout_paid(%L, %L, %L))', tests.id('p1'), 'SEPA-1', 'paid-1')),
          tests.stored('m1'), 'mark_payout_paid through act_as(pia), retried with nobody acting: the same answer');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and the retry changed nothing');
SELECT is(tests.entries(tests.id('p1')), 4::bigint,
          '... the tokens left circulation once (the request and payout_paid: one transaction each)');
SELECT tests.service(NULL);
SELECT tests.put('m2', api.mark_payout_paid(tests.id('p2'), 'SEPA-2', 'paid-2'));
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.service('vic');
SELECT is(tests.answer(format('SELECT to_jsonb(api.mark_payout_paid(%L, %L, %L))', tests.id('p2'), 'SEPA-2', 'paid-2')),
          tests.stored('m2'), 'mark_payout_paid with nobody acting, retried through act_as(vic): the same answer');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and the retry changed nothing');
-- The same key for another (approved, payable) payout: LP106 whoever acts, and p5 stays approved.
SELECT tests.service('adam');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, %L, %L)', tests.id('p5'), 'SEPA-1', 'paid-1'), 'LP106',
                            'mark_payout_paid: a key already used for another payout is LP106 through act_as(adam)');
SELECT tests.service(NULL);
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, %L, %L)', tests.id('p5'), 'SEPA-1', 'paid-1'), 'LP106',
                            '... and with nobody acting');
SELECT tests.clear_authentication();

-- == mark_payout_failed (p3, p4 are approved) ================================================================
SELECT tests.service('vic');
SELECT tests.put('f3', api.mark_payout_failed(tests.id('p3'), 'IBAN rejected', 'failed-3'));
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.service(NULL);
SELECT is(tests.answer(format('SELECT to_jsonb(api.mark_payout_failed(%L, %L, %L))', tests.id('p3'), 'IBAN rejected', 'failed-3')),
          tests.stored('f3'), 'mark_payout_failed through act_as(vic), retried with nobody acting: the same answer');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and the retry changed nothing (the tokens came back once)');
SELECT tests.service(NULL);
SELECT tests.put('f4', api.mark_payout_failed(tests.id('p4'), 'account closed', 'failed-4'));
SELECT tests.clear_authentication();
SELECT tests.snap();
SELECT tests.service('adam');
SELECT is(tests.answer(format('SELECT to_jsonb(api.mark_payout_failed(%L, %L, %L))', tests.id('p4'), 'account closed', 'failed-4')),
          tests.stored('f4'), 'mark_payout_failed with nobody acting, retried through act_as(adam): the same answer');
SELECT tests.clear_authentication();
SELECT tests.unchanged('... and the retry changed nothing');
-- The same key for another (approved) payout: LP106 whoever acts, and p5 stays approved.
SELECT tests.service('pia');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_failed(%L, %L, %L)', tests.id('p5'), 'IBAN rejected', 'failed-3'), 'LP106',
                            'mark_payout_failed: a key already used for another payout is LP106 through act_as(pia)');
SELECT tests.service(NULL);
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_failed(%L, %L, %L)', tests.id('p5'), 'IBAN rejected', 'failed-3'), 'LP106',
                            '... and with nobody acting');
SELECT tests.clear_authentication();

-- == the outcome ==============================================================================================
SELECT is((SELECT string_agg(tests.status(tests.id('p' || i)), ',' ORDER BY i) FROM generate_series(1, 5) AS i),
          'paid,paid,failed,failed,approved', 'p1, p2 paid, p3, p4 failed, p5 still approved');
SELECT is((SELECT string_agg(DISTINCT split_part(key, ':', 1), ',') || ' ' || count(*) FROM lp.idempotency_keys
            WHERE scope IN ('payouts.send', 'payouts.mark_paid', 'payouts.mark_failed')),
          'service 6', 'every payout processing key (six: two per step) is in the back office''s key space');
SELECT is((SELECT string_agg(DISTINCT split_part(key, ':', 1), ',') FROM lp.idempotency_keys WHERE scope = 'payouts.approve'),
          tests.user_id('adam')::text, 'approve_payout (not service only) keeps its keys per caller: adam''s');
SELECT ok(tests.sound(), 'the ledger is sound');

SELECT * FROM finish();
ROLLBACK;
