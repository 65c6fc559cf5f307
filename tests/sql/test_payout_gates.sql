-- The gates of being paid, re-checked when the money moves, not only when it was asked for:
-- * a payout: api.request_payout checks the sanctions (LP022 suspension or ban, LP150 payout_hold) and the KYC
--   gate (LP111); a hold or a lapse that comes after the request stops the payout at approval
--   (api.approve_payout: both) and when it is marked paid (api.mark_payout_paid: both), the payout staying
--   where it was and nothing changing; reporting a failed transfer (api.mark_payout_failed) is never stopped
--   (the tokens only come back to the performer);
-- * the processor's claim (api.send_payout, approved -> sending) checks the gates of that moment, right before
--   the transfer is released; a sending payout is then recorded paid whatever was issued since (the money has
--   left) or failed (tokens back), and can no longer be rejected or cancelled;
-- * goal escrow: api.settle_tip_goals pays a reached goal's escrowed tips only to a performer the payee rule
--   allows now: one whose identity verification lapsed since the tips is not paid (the tips wait in escrow,
--   as for a suspension) until she is verified again, as a capture of an earlier hold is refused (LP135); a
--   payout_hold does not stop tips (api.tip) and so does not stop their settlement either.
BEGIN;
SELECT plan(75);

-- Shared helpers (tests/sql/helpers/*.sql): tests.create_user, tests.user_id, tests.authenticate_as,
-- tests.clear_authentication, tests.remember, tests.id, tests.wallet, tests.sound, tests.approve_kyc.
-- Helpers of this file (SECURITY DEFINER where they read past RLS):
--   tests.fund(username, n)            n bought tokens (issuance -> the user)
--   tests.total(username | code)       a wallet's main balance + credit shards (a user, or a system wallet)
--   tests.payout_status(id)            a payout's status
--   tests.lapse_kyc(username)          every approval of the user ends a minute ago (the gate closes at once)
--   tests.state()                      everything a refused call must leave as it was
--   tests.rejects(query, code, text)   throws_ok + the state unchanged (two assertions)
--   tests.settle()                     api.settle_tip_goals() as the back office: 'paid/refunded/reached/missed'
--   tests.live(host, title)            a live stream of the host; its id
CREATE FUNCTION tests.total(p_who text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)::bigint
      FROM lp.wallets AS w WHERE w.id = coalesce(tests.wallet(p_who), lp.system_wallet(p_who))
$$;
CREATE FUNCTION tests.payout_status(p_payout uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT p.status::text FROM lp.payouts AS p WHERE p.id = p_payout
$$;
CREATE FUNCTION tests.lapse_kyc(p_username text) RETURNS text
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.kyc_verifications SET expires_at = now() - interval '1 minute'
     WHERE user_id = tests.user_id(p_username) AND status = 'approved';
    SELECT format('# %s: identity verification lapsed (%s)', p_username, lp.kyc_refusal(tests.user_id(p_username)))
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', w.id, w.balance, w.reserved, w.debt_since), ';' ORDER BY w.id) FROM lp.wallets AS w),
        (SELECT string_agg(concat_ws(',', s.wallet_id, s.shard, s.balance), ';' ORDER BY s.wallet_id, s.shard) FROM lp.wallet_shards AS s),
        (SELECT count(*) FROM lp.ledger),
        (SELECT string_agg(p::text, ';' ORDER BY p.id) FROM lp.payouts AS p),
        (SELECT string_agg(concat_ws(',', t.id, t.status, t.settlement_id), ';' ORDER BY t.id) FROM lp.tips AS t),
        (SELECT string_agg(k::text, ';' ORDER BY k.scope, k.key) FROM lp.idempotency_keys AS k),
        (SELECT count(*) FROM lp.audit_logs)))
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
CREATE FUNCTION tests.live(p_host text, p_title text) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_stream uuid;
BEGIN
    PERFORM tests.authenticate_as(p_host);
    v_stream := (api.schedule_stream(p_title)).id;
    PERFORM api.consent_to_stream(v_stream, '203.0.113.1');
    PERFORM api.start_stream(v_stream);
    PERFORM tests.clear_authentication();
    RETURN v_stream;
END
$$;

-- pia: a performer who cashes out; gia, hana: performers with refund_if_missed goals; vic: a viewer who tips;
-- adam: an admin. Earnings are payable at once (payouts.hold_days 0).
DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('gia', 'performer');
    PERFORM tests.create_user('hana', 'performer');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.fund('vic', 100000);
    UPDATE lp.settings SET value = '0' WHERE key = 'payouts.hold_days';
END
$$;

-- == payouts: a hold or a lapse after the request ===========================================================
-- vic tips pia 30000 (she earns 24000); she asks for four payouts of 5000, all while nothing holds her; adam
-- approves the first three.
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 30000, ''earn'')', tests.user_id('pia')), 'setup: vic tips pia 30000');
SELECT tests.authenticate_as('pia');
DO $$
BEGIN
    FOR i IN 1..4 LOOP
        PERFORM tests.remember('p' || i, (api.request_payout(5000, 'bank_transfer', 'req-' || i)).id);
    END LOOP;
END
$$;
SELECT tests.authenticate_as('adam');
DO $$
BEGIN
    FOR i IN 1..3 LOOP
        PERFORM api.approve_payout(tests.id('p' || i), 'appr-' || i);
    END LOOP;
END
$$;
SELECT is(tests.total('payout_clearing'), 20000::bigint, 'setup: four payouts requested, three approved: 20000 tokens in clearing');

-- A payout_hold placed after the approval: the money does not leave.
SELECT tests.remember('hold', (api.sanction_user(tests.user_id('pia'), 'payout_hold', 'chargeback under review')).id);
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, ''SEPA-1'', ''paid-1'')', tests.id('p1')), 'LP150',
                            'deny: a payout_hold placed after the approval, mark_payout_paid is LP150 (the payout stays approved)');
SELECT lives_ok(format('SELECT api.mark_payout_failed(%L, ''IBAN rejected'', ''failed-2'')', tests.id('p2')),
                'allow: under the payout_hold a failed transfer is still reported (mark_payout_failed)');
SELECT is(tests.payout_status(tests.id('p2')), 'failed', 'allow: its tokens went back to pia');
-- Lifted: paid.
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format('SELECT api.revoke_sanction(%L, ''chargeback settled'')', tests.id('hold')), 'adam lifts the payout_hold');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format('SELECT api.mark_payout_paid(%L, ''SEPA-1'', ''paid-1b'')', tests.id('p1')),
                'allow: the payout_hold lifted, the payout is marked paid');
SELECT is(tests.payout_status(tests.id('p1')), 'paid', 'allow: and is paid');

-- A suspension after the approval: LP022.
SELECT tests.authenticate_as('adam');
SELECT tests.remember('susp', (api.sanction_user(tests.user_id('pia'), 'suspension', 'review', now() + interval '1 day')).id);
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, ''SEPA-3'', ''paid-3'')', tests.id('p3')), 'LP022',
                            'deny: suspended after the approval, mark_payout_paid is LP022');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format('SELECT api.revoke_sanction(%L, ''cleared'')', tests.id('susp')), 'adam lifts the suspension');

-- The identity verification lapses after the approval (p3) and after the request (p4): LP111 at both steps.
SELECT tests.lapse_kyc('pia');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, ''SEPA-3'', ''paid-3'')', tests.id('p3')), 'LP111',
                            'deny: the verification lapsed after the approval, mark_payout_paid is LP111');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.approve_payout(%L, ''appr-4'')', tests.id('p4')), 'LP111',
                            'deny: the verification lapsed after the request, approve_payout is LP111 (the payout stays requested)');
SELECT tests.clear_authentication();
SELECT tests.approve_kyc('pia');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format('SELECT api.approve_payout(%L, ''appr-4b'')', tests.id('p4')), 'allow: verified again, the payout is approved');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format('SELECT api.mark_payout_paid(%L, ''SEPA-3'', ''paid-3b'')', tests.id('p3')),
                'allow: verified again and not suspended, the payout is marked paid');
SELECT tests.clear_authentication();
SELECT is(concat_ws(',', tests.payout_status(tests.id('p1')), tests.payout_status(tests.id('p2')),
                    tests.payout_status(tests.id('p3')), tests.payout_status(tests.id('p4'))),
          'paid,failed,paid,approved', 'the four payouts: paid, failed, paid, approved');
SELECT is(tests.total('payout_clearing'), 5000::bigint, 'payout clearing holds only the approved payout');
SELECT ok(tests.sound(), 'the ledger is sound');

-- == payouts: the processor's claim before the transfer (api.send_payout) ====================================
-- p4 is pia's only payout in flight (approved).
-- The gates of the moment refuse the claim: the payout stays approved, nothing is recorded (no key either).
SELECT tests.authenticate_as('adam');
SELECT tests.remember('hold2', (api.sanction_user(tests.user_id('pia'), 'payout_hold', 'chargeback under review')).id);
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT * FROM tests.rejects(format('SELECT api.send_payout(%L, ''send-4'')', tests.id('p4')), 'LP150',
                            'deny: under a payout_hold, send_payout is LP150 (the payout stays approved)');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format('SELECT api.revoke_sanction(%L, ''settled'')', tests.id('hold2')), 'adam lifts the payout_hold');
SELECT tests.remember('susp2', (api.sanction_user(tests.user_id('pia'), 'suspension', 'review', now() + interval '1 day')).id);
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT * FROM tests.rejects(format('SELECT api.send_payout(%L, ''send-4'')', tests.id('p4')), 'LP022',
                            'deny: suspended, send_payout is LP022');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format('SELECT api.revoke_sanction(%L, ''cleared'')', tests.id('susp2')), 'adam lifts the suspension');
SELECT tests.lapse_kyc('pia');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT * FROM tests.rejects(format('SELECT api.send_payout(%L, ''send-4'')', tests.id('p4')), 'LP111',
                            'deny: the verification lapsed, send_payout is LP111');
SELECT tests.clear_authentication();
SELECT tests.approve_kyc('pia');

-- Verified again and unsanctioned: the claim. No token moves; audited.
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.put('p4_sent', p) FROM api.send_payout(tests.id('p4'), 'send-4') AS p;
SELECT is(concat_ws(',', tests.get('p4_sent', 'status'), tests.get('p4_sent', 'sending_at') IS NOT NULL,
                    tests.payout_status(tests.id('p4'))),
          'sending,t,sending', 'allow: send_payout moves the approved payout to sending, sending_at set');
SELECT is(tests.total('payout_clearing'), 5000::bigint, 'allow: no token moved (p4 stays in clearing)');
SELECT is(tests.audits('payout.sending', tests.id('p4')), 1::bigint, 'allow: audited as payout.sending');
-- Idempotent: the same key replays the first answer and changes nothing; another claim is LP004.
SELECT tests.put('state', tests.state());
SELECT is((SELECT to_jsonb(p) FROM api.send_payout(tests.id('p4'), 'send-4') AS p),
          (SELECT c.value FROM tests.ctx AS c WHERE c.key = 'p4_sent'), 'send_payout replay: returns the original result');
SELECT is(tests.state(), (SELECT c.value #>> '{}' FROM tests.ctx AS c WHERE c.key = 'state'), 'send_payout replay: nothing changed');
SELECT * FROM tests.rejects(format('SELECT api.send_payout(%L, ''send-4-again'')', tests.id('p4')), 'LP004',
                            'deny: a second claim of a sending payout is LP004');
SELECT * FROM tests.rejects(format('SELECT api.send_payout(%L, ''send-4'')', tests.id('p1')), 'LP106',
                            'deny: the same key for another payout is LP106');
SELECT * FROM tests.rejects(format('SELECT api.send_payout(%L, ''send-x'')', gen_random_uuid()), 'LP003',
                            'deny: send_payout of an unknown payout is LP003');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.send_payout(%L, ''send-5'')', tests.id('p4')), '42501',
                            'deny: send_payout is the service role''s only (the application role, even an admin, is 42501)');
-- Still the performer's money in flight, as an approved payout: taken from payable (10000 bought tokens make
-- the balance larger than what is payable), in clearing, and no erasure meanwhile.
SELECT tests.clear_authentication();
SELECT tests.fund('pia', 10000);
SELECT tests.authenticate_as('pia');
SELECT results_eq('SELECT in_clearing, payable FROM api.earnings_summary()', $$VALUES (5000::bigint, 9000::bigint)$$,
                  'sending: in_clearing counts it; payable is 24000 earned - 15000 taken by p1, p3 and the sending p4');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.erase_user(%L, ''asked by mail'')', tests.user_id('pia')), 'LP170',
                            'deny: no erasure while a payout is sending (LP170, payouts in progress)');
-- Money in flight: an admin cannot reject it, the performer cannot cancel it.
SELECT * FROM tests.rejects(format('SELECT api.reject_payout(%L, ''too late'', ''rej-4'')', tests.id('p4')), 'LP004',
                            'deny: reject_payout of a sending payout is LP004');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format('SELECT api.cancel_payout(%L, ''can-4'')', tests.id('p4')), 'LP004',
                            'deny: cancel_payout of a sending payout is LP004');

-- vic tips pia 20000 more (she earns 16000); she asks for s1 and s2 (5000 each), adam approves both.
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 20000, ''earn-2'')', tests.user_id('pia')), 'setup: vic tips pia 20000');
SELECT tests.authenticate_as('pia');
DO $$
BEGIN
    PERFORM tests.remember('s1', (api.request_payout(5000, 'paypal', 'req-s1')).id);
    PERFORM tests.remember('s2', (api.request_payout(5000, 'paypal', 'req-s2')).id);
END
$$;
SELECT tests.authenticate_as('adam');
DO $$
BEGIN
    PERFORM api.approve_payout(tests.id('s1'), 'appr-s1');
    PERFORM api.approve_payout(tests.id('s2'), 'appr-s2');
END
$$;

-- A payout_hold issued after the send: the money has left, the payment is recorded all the same; an approved
-- payout paid in one step is still refused under it.
SELECT tests.remember('hold3', (api.sanction_user(tests.user_id('pia'), 'payout_hold', 'chargeback under review')).id);
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format('SELECT api.mark_payout_paid(%L, ''SEPA-4'', ''paid-4'')', tests.id('p4')),
                'allow: a payout_hold issued after the send, mark_payout_paid records the payment');
SELECT is(tests.payout_status(tests.id('p4')), 'paid', 'allow: the sending payout is paid');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, ''SEPA-s1'', ''paid-s1'')', tests.id('s1')), 'LP150',
                            'deny: under that payout_hold, an approved payout is still not paid in one step');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format('SELECT api.revoke_sanction(%L, ''settled'')', tests.id('hold3')), 'adam lifts the payout_hold');

-- Sent, then the transfer fails: the tokens come back.
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is((api.send_payout(tests.id('s2'), 'send-s2')).status::text, 'sending', 'allow: s2 is sent');
SELECT tests.clear_authentication();
SELECT tests.put('pia_before', tests.total('pia'));
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format('SELECT api.mark_payout_failed(%L, ''account closed'', ''failed-s2'')', tests.id('s2')),
                'allow: mark_payout_failed takes a sending payout');
SELECT tests.clear_authentication();
SELECT results_eq(format($$SELECT tests.payout_status(%L),
                                 tests.total('pia') - (SELECT (c.value #>> '{}')::bigint FROM tests.ctx AS c WHERE c.key = 'pia_before'),
                                 tests.total('payout_clearing')$$, tests.id('s2')),
                  $$VALUES ('failed'::text, 5000::bigint, 5000::bigint)$$,
                  'allow: s2 failed, its 5000 tokens back to pia; clearing holds only s1');
SELECT ok(tests.sound(), 'the ledger is sound');

-- == goal escrow: the payee rule at settlement ===============================================================
-- gia's refund_if_missed goal is reached while she is verified; her verification lapses before the job runs.
SELECT tests.remember('gs', tests.live('gia', 'Gia live'));
SELECT tests.authenticate_as('gia');
SELECT isnt(api.add_tip_goal(tests.id('gs'), 100, 'Gia goal', now() + interval '1 hour', true), NULL, 'setup: gia adds a refund_if_missed goal');
SELECT tests.authenticate_as('vic');
SELECT is((api.tip(tests.user_id('gia'), 100, 'goal-g', tests.id('gs'))).status, 'escrowed', 'setup: vic''s tip reaches it, in escrow');
SELECT tests.clear_authentication();
SELECT tests.lapse_kyc('gia');
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format('SELECT api.tip(%L, 10, ''plain-g'')', tests.user_id('gia')), 'LP135', NULL,
                 'a plain tip to gia is refused now (the payee rule: LP135)');
SELECT tests.clear_authentication();
SELECT is(tests.settle(), '0/0/0/0', 'deny: settle_tip_goals does not pay a performer whose verification lapsed');
SELECT is((SELECT t.status FROM lp.tips AS t WHERE t.idempotency_key = 'goal-g'), 'escrowed', 'deny: the tip waits in escrow');
SELECT is(tests.total('gia'), 0::bigint, 'deny: gia received nothing');
SELECT is(tests.total('goal_escrow'), 100::bigint, 'the escrow still holds the tip');
SELECT tests.approve_kyc('gia');
SELECT is(tests.settle(), '1/0/0/0', 'allow: verified again, the tip is paid out');
SELECT results_eq($$SELECT t.status, tests.total('gia'), tests.total('goal_escrow') FROM lp.tips AS t WHERE t.idempotency_key = 'goal-g'$$,
                  $$VALUES ('completed'::text, 80::bigint, 0::bigint)$$, 'allow: completed, gia +80, the escrow empty');

-- hana: a payout_hold forbids being paid out, not being tipped; the settlement follows api.tip.
SELECT tests.remember('hs', tests.live('hana', 'Hana live'));
SELECT tests.authenticate_as('hana');
SELECT isnt(api.add_tip_goal(tests.id('hs'), 100, 'Hana goal', now() + interval '1 hour', true), NULL, 'setup: hana adds a refund_if_missed goal');
SELECT tests.authenticate_as('vic');
SELECT is((api.tip(tests.user_id('hana'), 100, 'goal-h', tests.id('hs'))).status, 'escrowed', 'setup: vic''s tip reaches it, in escrow');
SELECT tests.authenticate_as('adam');
SELECT isnt(api.sanction_user(tests.user_id('hana'), 'payout_hold', 'chargeback under review'), NULL, 'adam puts hana under a payout_hold');
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 10, ''plain-h'')', tests.user_id('hana')), 'allow: a plain tip to hana under the payout_hold');
SELECT tests.clear_authentication();
SELECT is(tests.settle(), '1/0/0/0', 'allow: so her escrowed goal tip is paid out too');

-- == every step that moves a payout or pays a performer consults the gates ===================================
SELECT is_empty($$SELECT 'lp.assert_payout_allowed' WHERE NOT EXISTS (
                       SELECT 1 FROM pg_proc AS p
                        WHERE p.oid = 'lp.assert_payout_allowed(uuid, text)'::regprocedure
                          AND p.prosrc ~ 'lp\.kyc_refusal\(' AND p.prosrc ~ 'lp\.assert_sanction_allows\([^)]*''payout''')
                   UNION ALL
                   SELECT f FROM unnest(ARRAY['api.request_payout', 'api.approve_payout', 'api.send_payout',
                                              'api.mark_payout_paid']) AS f
                   WHERE NOT EXISTS (SELECT 1 FROM pg_proc AS p
                                      WHERE p.oid::regprocedure::text LIKE f || '(%'
                                        AND p.prosrc ~ 'lp\.assert_payout_allowed\(')
                   UNION ALL
                   SELECT 'api.settle_tip_goals' WHERE NOT EXISTS (
                       SELECT 1 FROM pg_proc AS p
                        WHERE p.oid = 'api.settle_tip_goals(integer)'::regprocedure
                          AND p.prosrc ~ 'lp\.kyc_refusal_from\(\w+\.kyc_valid_until\)')$$,
                'request, approve, send and mark_payout_paid check the KYC gate and the payout sanctions (lp.assert_payout_allowed); settle_tip_goals the KYC gate');
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean');

SELECT * FROM finish();
ROLLBACK;
