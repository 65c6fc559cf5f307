-- Chargebacks whatever became of the accounts involved (api.chargeback_payment, lp.fraud_on_chargeback): a buyer
-- or a performer who deleted their account does not make the chargeback unrecordable (it was LP003 "user not
-- found" from the sanction on the deleted account, so the tokens stayed with the buyer and the accomplice's
-- payouts went on), and the sanctions a chargeback sets off pending review are its own, whatever else the users
-- are under. Dismissing the buyer's case lifts the payout_holds it put on the performers (not another open case's).
-- The debt_tokens of a buyer's several reversed payments add up to what the wallet owes. api.verify_ledger is
-- clean after every scenario.
BEGIN;
SELECT plan(58);

-- Helpers of this file (SECURITY DEFINER where they read or write past RLS).
--   tests.cfg(key, value)                 sets a setting as the superuser
--   tests.pay(payment)                    'status rec=.. wo=.. debt=..' of a payment
--   tests.case_of(username)               the open fraud case on the user
--   tests.held(username, type, case)      the user's active sanctions of that type that name the case and
--                                         have no end (the chargeback's own, pending review)
--   tests.ledger_clean()                  api.verify_ledger finds nothing (run as the superuser)
CREATE FUNCTION tests.pay(p_payment uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT format('%s rec=%s wo=%s debt=%s', p.status, p.recovered_tokens, p.written_off_tokens, p.debt_tokens)
      FROM lp.payments AS p WHERE p.id = p_payment
$$;
CREATE FUNCTION tests.case_of(p_username text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT r.id FROM lp.reports AS r
     WHERE r.reported_user_id = tests.user_id(p_username) AND r.reason::text = 'fraud'
       AND r.status::text IN ('open', 'in_review', 'escalated')
$$;
CREATE FUNCTION tests.held(p_username text, p_type text, p_case uuid) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.user_sanctions AS s
     WHERE s.user_id = tests.user_id(p_username) AND s.sanction_type::text = p_type AND s.revoked_at IS NULL
       AND s.ends_at IS NULL AND s.issued_by IS NULL AND s.report_id = p_case
$$;
CREATE FUNCTION tests.ledger_clean() RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT NOT EXISTS (SELECT 1 FROM api.verify_ledger())
$$;

-- == Fixture ===============================================================================================
-- ada, adam: admins; vic, bob: buyers; pam, quinn: performers. Earnings are payable at once, from 100 tokens.
DO $$
BEGIN
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user(u) FROM unnest(ARRAY['vic', 'bob']) AS u;
    PERFORM tests.create_user(u, 'performer') FROM unnest(ARRAY['pam', 'quinn']) AS u;
    PERFORM tests.cfg('payouts.hold_days', '0');
    PERFORM tests.cfg('payouts.min_tokens', '100');
END
$$;

-- == A buyer who deleted their account =====================================================================
-- vic buys 500 tokens with a stolen card, tips pam 400 and deletes his account; the card's owner disputes the
-- charge.
SELECT tests.remember('v1', tests.purchase('vic', 'small', 'v1'));
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 400, %L)', tests.user_id('pam'), 'v-tip'), 'vic tips pam 400 of his 500 tokens');
SELECT tests.login_as('vic');  -- a user's own deletion wants a recent login
SELECT lives_ok($$SELECT api.delete_user()$$, 'vic deletes his account');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format($$SELECT api.chargeback_payment(%L, 'stolen card', 'cb-v1')$$, tests.id('v1')),
                'the chargeback of a deleted buyer''s payment is recorded');
RESET ROLE;
SELECT is(tests.pay(tests.id('v1')), 'chargeback rec=100 wo=0 debt=400',
          '... the tokens he had left are taken back, the 400 he spent are owed (policy debt)');
SELECT is(tests.wallet_state('vic'), 'main=-400 reserved=0 shards=0 debt=true', '... his wallet is in debt');
SELECT isnt(tests.case_of('vic'), NULL, '... a fraud case on the buyer is in the review queue');
SELECT is(tests.held('vic', 'tip_block', tests.case_of('vic')), 1::bigint,
          '... with the tip_block on the deleted buyer, naming the case');
SELECT is(tests.held('pam', 'payout_hold', tests.case_of('vic')), 1::bigint,
          '... and a payout_hold on pam, who received the tokens');
SELECT results_eq($$SELECT target_id, details ->> 'tip_block_id' IS NOT NULL, jsonb_array_length(details -> 'payout_holds')
                      FROM tests.last_audit('payment.chargeback')$$,
                  format($$VALUES (%L::text, true, 1)$$, tests.id('v1')),
                  '... audited as payment.chargeback with the sanctions it set off');
SELECT ok(tests.ledger_clean(), 'api.verify_ledger is clean after the chargeback of a deleted buyer');

-- == A performer who deleted their account with a payout pending ===========================================
-- bob buys 1100 tokens and tips quinn 1000 (she earns 800); she asks for a payout of 800 and deletes her
-- account; then bob's payment is charged back. The payout must not be approved while the case is pending.
SELECT tests.remember('b1', tests.purchase('bob', 'medium', 'b1'));
SELECT tests.authenticate_as('bob');
SELECT lives_ok(format('SELECT api.tip(%L, 1000, %L)', tests.user_id('quinn'), 'b-tip'), 'bob tips quinn 1000');
SELECT tests.authenticate_as('quinn');
SELECT tests.remember('q-out', (api.request_payout(800, 'paypal', 'q-out')).id);
SELECT tests.login_as('quinn');
SELECT lives_ok($$SELECT api.delete_user()$$, 'quinn asked for a payout of 800, then deletes her account');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format($$SELECT api.chargeback_payment(%L, 'fraudulent', 'cb-b1')$$, tests.id('b1')),
                'the chargeback of a payment tipped to a deleted performer is recorded');
RESET ROLE;
SELECT is(tests.pay(tests.id('b1')), 'chargeback rec=100 wo=0 debt=1000', '... 100 taken back, 1000 owed');
SELECT is(tests.held('quinn', 'payout_hold', tests.case_of('bob')), 1::bigint,
          '... a payout_hold on the deleted performer, naming the buyer''s case');
SELECT is(tests.held('bob', 'tip_block', tests.case_of('bob')), 1::bigint, '... and a tip_block on bob');
SELECT tests.authenticate_as('adam');
SELECT throws_ok(format($$SELECT api.approve_payout(%L, 'appr-q')$$, tests.id('q-out')), 'LP150', NULL,
                 'the deleted performer''s pending payout cannot be approved while the case is pending (LP150)');
RESET ROLE;
SELECT is((SELECT status::text FROM lp.payouts WHERE id = tests.id('q-out')), 'requested', '... it is still requested');
SELECT ok(tests.ledger_clean(), 'api.verify_ledger is clean after the chargeback of a deleted performer''s tips');

-- == Sanctions of the chargeback's own, whatever else the users are under ===================================
-- carl is under a moderator's tip_block for an hour, rita under a moderator's payout_hold for a day (another
-- matter). carl buys 1100 tokens and tips rita 1000; the payment is charged back. The chargeback's sanctions are
-- pending the review of its case: they must not lapse with the moderator's, nor go when those are revoked.
DO $$
BEGIN
    PERFORM tests.create_user('carl');
    PERFORM tests.create_user('rita', 'performer');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.remember('c1', tests.purchase('carl', 'medium', 'c1'));
    PERFORM tests.remember('c2', tests.purchase('carl', 'small', 'c2'));
END
$$;
SELECT tests.authenticate_as('carl');
SELECT lives_ok(format('SELECT api.tip(%L, 1000, %L)', tests.user_id('rita'), 'c-tip'), 'carl tips rita 1000');
SELECT tests.authenticate_as('mona');
SELECT tests.remember('mona-tb', (api.sanction_user(tests.user_id('carl'), 'tip_block', 'srita tips', now() + interval '1 hour')).id);
SELECT tests.remember('mona-ph', (api.sanction_user(tests.user_id('rita'), 'payout_hold', 'ID check', now() + interval '1 day')).id);
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format($$SELECT api.chargeback_payment(%L, 'stolen card', 'cb-c1')$$, tests.id('c1')),
                'carl''s payment is charged back while he and rita are under timed sanctions');
RESET ROLE;
SELECT is(tests.held('carl', 'tip_block', tests.case_of('carl')), 1::bigint,
          '... an open-ended tip_block on carl naming the case, beside the moderator''s timed one');
SELECT is(tests.held('rita', 'payout_hold', tests.case_of('carl')), 1::bigint,
          '... an open-ended payout_hold on rita naming the case, beside the moderator''s timed one');
SELECT results_eq($$SELECT details ->> 'tip_block_id' IS NOT NULL, jsonb_array_length(details -> 'payout_holds')
                      FROM tests.last_audit('payment.chargeback')$$,
                  $$VALUES (true, 1)$$, '... and the audit row names them');
SELECT tests.authenticate_as('mona');
SELECT lives_ok(format($$SELECT api.revoke_sanction(%L, 'ID checked')$$, tests.id('mona-ph')),
                'the moderator lifts her payout_hold on rita (the other matter is settled)');
SELECT tests.authenticate_as('rita');
SELECT throws_ok($$SELECT api.request_payout(100, 'paypal', 'p-out')$$, 'LP150', NULL,
                 'rita''s payouts stay held pending the chargeback''s case (LP150)');
-- A second chargeback of carl's merges into the same case: no second sanction of the same case.
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format($$SELECT api.chargeback_payment(%L, 'stolen card', 'cb-c2')$$, tests.id('c2')),
                'carl''s second payment is charged back too');
RESET ROLE;
SELECT is((SELECT count(*) FROM lp.user_sanctions WHERE user_id = tests.user_id('carl') AND sanction_type = 'tip_block'
             AND report_id = tests.case_of('carl')), 1::bigint, '... no second tip_block for the same case');
SELECT ok(tests.ledger_clean(), 'api.verify_ledger is clean after the chargebacks of carl''s payments');

-- == A replay after the deletion answers as the first call =================================================
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is((api.chargeback_payment(tests.id('v1'), 'stolen card', 'cb-v1')).status::text, 'chargeback',
          'a replay of the first chargeback returns the charged-back payment');
RESET ROLE;
SELECT is((SELECT count(*) FROM lp.user_sanctions WHERE report_id = tests.case_of('vic')), 2::bigint,
          '... and issues no second sanction');

-- == Tips that came back are not the performer's share ======================================================
-- wendel buys 500 tokens and tips perla 400 toward her goal that refunds if missed; the goal is missed and the
-- tips go back to him; then his payment is charged back. perla kept nothing of it: no payout_hold on her.
DO $$
BEGIN
    PERFORM tests.create_user('wendel');
    PERFORM tests.create_user('perla', 'performer');
    PERFORM tests.remember('w1', tests.purchase('wendel', 'small', 'w1'));
    PERFORM tests.authenticate_as('perla');
    PERFORM tests.remember('ps', (api.schedule_stream('perla live')).id);
    PERFORM api.consent_to_stream(tests.id('ps'), '203.0.113.1');
    PERFORM api.start_stream(tests.id('ps'));
    PERFORM api.add_tip_goal(tests.id('ps'), 100000, 'Perla''s marathon', now() + interval '1 hour', true);
    PERFORM tests.authenticate_as('wendel');
    PERFORM api.tip(tests.user_id('perla'), 400, 'w-goal-tip', tests.id('ps'));
    PERFORM tests.clear_authentication();
END
$$;
UPDATE lp.tip_goals SET deadline = now() - interval '1 second' WHERE description = 'Perla''s marathon';
DO $$
BEGIN
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    PERFORM api.settle_tip_goals();  -- the goal is missed
    PERFORM api.settle_tip_goals();  -- its escrowed tip goes back
    PERFORM tests.clear_authentication();
END
$$;
SELECT is((SELECT t.status FROM lp.tips AS t WHERE t.idempotency_key = 'w-goal-tip'), 'refunded',
          'the tip toward the missed goal came back to wendel');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format($$SELECT api.chargeback_payment(%L, 'disputed', 'cb-w1')$$, tests.id('w1')),
                'wendel''s payment is charged back');
RESET ROLE;
SELECT tests.clear_authentication();
SELECT is(tests.held('wendel', 'tip_block', tests.case_of('wendel')), 1::bigint, 'a tip_block on wendel, pending review');
SELECT is((SELECT count(*) FROM lp.user_sanctions AS s
            WHERE s.user_id = tests.user_id('perla') AND s.sanction_type::text = 'payout_hold'), 0::bigint,
          'no payout_hold on perla: the tips she was sent came back (they are not her share of the payment)');
SELECT ok(tests.ledger_clean(), 'verify_ledger is clean');

-- == Dismissing the buyer's case lifts the payout_holds it put on the performers =============================
-- dina buys 1100 tokens and tips pola 600 and pixie 400; eve buys 500 and tips pixie 400. Both payments are
-- charged back: dina's case holds pola's and pixie's payouts, eve's case holds pixie's. pola appeals hers. The
-- card owner then confirms dina's purchase and mara dismisses dina's case: the case's payout_holds go with it
-- (they were pending its review), each lift audited; pixie's payouts stay held by eve's case, still open. A case
-- resolved otherwise (eve is warned) keeps its payout_holds for a moderator to decide.
DO $$
BEGIN
    PERFORM tests.create_user('dina');
    PERFORM tests.create_user('eve');
    PERFORM tests.create_user('mara', 'moderator');
    PERFORM tests.create_user(u, 'performer') FROM unnest(ARRAY['pola', 'pixie']) AS u;
    PERFORM tests.remember('d1', tests.purchase('dina', 'medium', 'd1'));
    PERFORM tests.remember('e1', tests.purchase('eve', 'small', 'e1'));
    PERFORM tests.authenticate_as('dina');
    PERFORM api.tip(tests.user_id('pola'), 600, 'd-tip-pola');
    PERFORM api.tip(tests.user_id('pixie'), 400, 'd-tip-pixie');
    PERFORM tests.authenticate_as('eve');
    PERFORM api.tip(tests.user_id('pixie'), 400, 'e-tip-pixie');
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    PERFORM api.chargeback_payment(tests.id('d1'), 'stolen card', 'cb-d1');
    PERFORM api.chargeback_payment(tests.id('e1'), 'stolen card', 'cb-e1');
    PERFORM tests.clear_authentication();
    PERFORM set_config('role', 'none', true);
    PERFORM tests.remember('c_dina', tests.case_of('dina'));
    PERFORM tests.remember('c_eve', tests.case_of('eve'));
    PERFORM tests.remember('pola_ph', (SELECT s.id FROM lp.user_sanctions AS s
                                        WHERE s.user_id = tests.user_id('pola') AND s.report_id = tests.case_of('dina')));
    PERFORM tests.authenticate_as('pola');
    PERFORM tests.remember('pola_ap', (api.appeal_sanction(tests.id('pola_ph'), 'The tips were for my show.')).id);
    PERFORM tests.clear_authentication();
    UPDATE lp.reports SET status = 'in_review', assigned_to = tests.user_id('mara'), claimed_at = now(),
                          claim_expires_at = now() + interval '30 minutes'
     WHERE id IN (tests.id('c_dina'), tests.id('c_eve'));
END
$$;
SELECT is(tests.held('pola', 'payout_hold', tests.id('c_dina')) + tests.held('pixie', 'payout_hold', tests.id('c_dina'))
          + tests.held('pixie', 'payout_hold', tests.id('c_eve')), 3::bigint,
          'setup: dina''s case holds pola''s and pixie''s payouts, eve''s case holds pixie''s');
SELECT tests.authenticate_as('mara');
SELECT is((api.resolve_case(tests.id('c_dina'), 'dismiss', 'The card owner confirmed the purchase.', 'No rule broken')).status::text,
          'dismissed', 'mara dismisses dina''s fraud case');
RESET ROLE;
SELECT tests.clear_authentication();
SELECT is(tests.held('pola', 'payout_hold', tests.id('c_dina')), 0::bigint,
          'the dismissal lifts the payout_hold dina''s case put on pola');
SELECT is(tests.held('pixie', 'payout_hold', tests.id('c_dina')), 0::bigint,
          '... and the one it put on pixie');
SELECT is(tests.held('pixie', 'payout_hold', tests.id('c_eve')), 1::bigint,
          '... but not the payout_hold of eve''s case, still open, on pixie');
SELECT results_eq($$SELECT a.target_id, a.actor_id, a.details ->> 'case_id', a.details ->> 'reason'
                      FROM lp.audit_logs AS a
                     WHERE a.action = 'sanction.revoke' AND a.details ->> 'case_id' = tests.id('c_dina')::text
                     ORDER BY a.target_id$$,
                  format($$SELECT * FROM (VALUES (%L::text, %L::uuid, %L::text, 'case dismissed'::text),
                                                 (%L, %L, %L, 'case dismissed'),
                                                 (%L, %L, %L, 'case dismissed')) AS v ORDER BY 1$$,
                         tests.user_id('dina'), tests.user_id('mara'), tests.id('c_dina'),
                         tests.user_id('pola'), tests.user_id('mara'), tests.id('c_dina'),
                         tests.user_id('pixie'), tests.user_id('mara'), tests.id('c_dina')),
                  '... each lift audited sanction.revoke (dina''s tip_block, pola''s and pixie''s payout_holds)');
SELECT is((SELECT status::text FROM lp.sanction_appeals WHERE id = tests.id('pola_ap')), 'moot',
          '... and pola''s pending appeal of her lifted payout_hold is closed as moot');
SELECT is((SELECT details ->> 'payout_holds_lifted' FROM tests.last_audit('case.resolve')), '2',
          '... and the case.resolve audit row counts the payout_holds lifted');
SELECT tests.authenticate_as('pola');
SELECT lives_ok($$SELECT api.request_payout(100, 'paypal', 'pola-out')$$, 'pola may request a payout again');
SELECT is((SELECT revoke_reason || ' / ' || decision_reasons FROM api.my_sanctions(true) WHERE sanction_id = tests.id('pola_ph')),
          'case dismissed / The sanction was lifted: case dismissed',
          'pola reads that the case was dismissed, not the statement of reasons about dina (the buyer''s own)');
SELECT tests.authenticate_as('dina');
SELECT is((SELECT revoke_reason FROM api.my_sanctions(true) WHERE sanction_type = 'tip_block'),
          'case dismissed: The card owner confirmed the purchase.',
          'control: dina, the case''s reported user, reads why her tip_block was lifted');
SELECT tests.authenticate_as('pixie');
SELECT throws_ok($$SELECT api.request_payout(100, 'paypal', 'pixie-out')$$, 'LP150', NULL,
                 'pixie''s payouts stay held by eve''s open case (LP150)');
SELECT tests.authenticate_as('mara');
SELECT is((api.resolve_case(tests.id('c_eve'), 'warn', 'The card was stolen.', 'Rule 9: no stolen cards')).status::text,
          'resolved', 'mara resolves eve''s case with a warning');
RESET ROLE;
SELECT tests.clear_authentication();
SELECT is(tests.held('pixie', 'payout_hold', tests.id('c_eve')), 1::bigint,
          'a case not closed in the buyer''s favour keeps its payout_hold on pixie, for a moderator to lift');

-- == Several reversals: debt_tokens add up to what the wallet owes ==========================================
-- gus buys 500 tokens (g1), tips pam 300 and is charged back: 200 recovered, 300 owed. He buys 500 more (g2),
-- which settle the debt (200 left); g2 is charged back too: the 200 are recovered and the wallet owes 300
-- again, the very 300 g1 records. g2 adds nothing to what he owes (it was debt=300 as well: 600 in all for a
-- wallet owing 300). Then g3 (1100), 1000 spent: its chargeback adds 700 (100 recovered; 300 of its spent
-- tokens had gone to g1's debt, which is owed again and recorded on g1).
CREATE FUNCTION tests.owed(p_username text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT format('debt_tokens=%s wallet owes=%s',
                  (SELECT sum(p.debt_tokens) FROM lp.payments AS p
                    WHERE p.user_id = tests.user_id(p_username) AND p.status::text IN ('refunded', 'chargeback')),
                  (SELECT greatest(-w.balance, 0) FROM lp.wallets AS w WHERE w.user_id = tests.user_id(p_username)))
$$;
DO $$
BEGIN
    PERFORM tests.create_user('gus');
    PERFORM tests.remember('g1', tests.purchase('gus', 'small', 'g1'));
    PERFORM tests.authenticate_as('gus');
    PERFORM api.tip(tests.user_id('pam'), 300, 'g-tip-1');
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    PERFORM api.chargeback_payment(tests.id('g1'), 'stolen card', 'cb-g1');
    PERFORM tests.clear_authentication();
    PERFORM set_config('role', 'none', true);
    PERFORM tests.remember('g2', tests.purchase('gus', 'small', 'g2'));
END
$$;
SELECT is(tests.pay(tests.id('g1')), 'chargeback rec=200 wo=0 debt=300', 'gus''s first chargeback: 200 recovered, 300 owed');
SELECT is(tests.wallet_state('gus'), 'main=200 reserved=0 shards=0 debt=false', '... his next purchase settles the debt');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format($$SELECT api.chargeback_payment(%L, 'stolen card', 'cb-g2')$$, tests.id('g2')),
                'his second payment is charged back');
RESET ROLE;
SELECT is(tests.pay(tests.id('g2')), 'chargeback rec=200 wo=0 debt=0',
          '... 200 recovered; it adds no debt: the 300 owed again are g1''s, recorded there');
SELECT is(tests.owed('gus'), 'debt_tokens=300 wallet owes=300', '... the debt_tokens of his payments add up to what his wallet owes');
DO $$
BEGIN
    PERFORM tests.remember('g3', tests.purchase('gus', 'medium', 'g3'));
    UPDATE lp.user_sanctions SET revoked_at = now(), revoke_reason = 'test: gus may tip again'
     WHERE user_id = tests.user_id('gus') AND revoked_at IS NULL;
    PERFORM tests.authenticate_as('gus');
    PERFORM api.tip(tests.user_id('pam'), 700, 'g-tip-3');
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    PERFORM api.chargeback_payment(tests.id('g3'), 'stolen card', 'cb-g3');
    PERFORM tests.clear_authentication();
    PERFORM set_config('role', 'none', true);
END
$$;
SELECT is(tests.pay(tests.id('g3')), 'chargeback rec=100 wo=0 debt=700',
          'a third chargeback (1100 tokens, 1000 of them spent, 300 on g1''s debt): 100 recovered, 700 owed');
SELECT is(tests.owed('gus'), 'debt_tokens=1000 wallet owes=1000', '... the debt_tokens still add up to what his wallet owes');
SELECT ok(tests.ledger_clean(), 'api.verify_ledger is clean after gus''s chargebacks');

SELECT * FROM finish();
ROLLBACK;
