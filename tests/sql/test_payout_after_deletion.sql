-- A payout requested before its performer deleted the account or lost the performer role is still owed: the
-- tokens were earned and left the performer's wallet when the payout was requested (they wait in
-- payout_clearing). Neither a deletion nor a demotion is a gate of being paid out (lp.assert_payout_allowed:
-- a suspension or ban, a payout_hold, the KYC gate), so an admin approves it and the payout processor sends it
-- and records it paid as any other; a new request is refused (LP001 deleted, LP102 not a performer). What
-- stops such a payout is what stops any payout: a payout_hold (a chargeback's, test_chargeback_reactions.sql),
-- a sanction, a lapsed verification, or an admin's rejection (the tokens back to the wallet). An erasure waits
-- until it is settled (LP170, test_erasure_in_flight.sql). This file pins the decision (docs/api.md, "Payouts").
BEGIN;
SELECT plan(19);

-- Shared helpers (tests/sql/helpers/*.sql): tests.create_user, tests.user_id, tests.authenticate_as,
-- tests.clear_authentication, tests.remember, tests.id, tests.approve_kyc, tests.fund, tests.cfg, tests.sound.
-- Helpers of this file (SECURITY DEFINER: they read past RLS):
--   tests.payout_status(id)   a payout's status
--   tests.clearing()          the payout_clearing wallet's balance (main + credit shards)
--   tests.earned(wallet)      a wallet's main balance + credit shards
CREATE FUNCTION tests.payout_status(p_payout uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT p.status::text FROM lp.payouts AS p WHERE p.id = p_payout
$$;
CREATE FUNCTION tests.earned(p_wallet uuid) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)::bigint
      FROM lp.wallets AS w WHERE w.id = p_wallet
$$;
CREATE FUNCTION tests.clearing() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT tests.earned(lp.system_wallet('payout_clearing'))
$$;

-- pia and dora: verified performers; vic tips each 20000 (16000 earned after the 20 % fee); adam: an admin.
-- Earnings are payable at once (payouts.hold_days 0).
SELECT tests.cfg('payouts.hold_days', '0');
DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('dora', 'performer');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.approve_kyc('pia');
    PERFORM tests.approve_kyc('dora');
    PERFORM tests.fund('vic', 40000);
    PERFORM tests.authenticate_as('vic');
    PERFORM api.tip(tests.user_id('pia'), 20000, 'tip-pia');
    PERFORM api.tip(tests.user_id('dora'), 20000, 'tip-dora');
    -- pia asks for two payouts, dora for one, all while they are performers with live accounts
    PERFORM tests.authenticate_as('pia');
    PERFORM tests.remember('pia-1', (api.request_payout(5000, 'bank_transfer', 'pia-1')).id);
    PERFORM tests.remember('pia-2', (api.request_payout(5000, 'paypal', 'pia-2')).id);
    PERFORM tests.authenticate_as('dora');
    PERFORM tests.remember('dora-1', (api.request_payout(5000, 'bank_transfer', 'dora-1')).id);
    PERFORM tests.clear_authentication();
END
$$;
SELECT is(tests.clearing(), 15000::bigint, 'setup: three payouts of 5000 requested, 15000 tokens in payout_clearing');

-- == a deleted performer ======================================================================================
SELECT tests.login_as('pia');  -- a fresh login: a user's own deletion wants one (lp.require_recent_login)
SELECT lives_ok($$SELECT api.delete_user(p_reason => 'leaving')$$, 'pia deletes her account with two payouts requested');
SELECT throws_ok($$SELECT api.request_payout(5000, 'bank_transfer', 'pia-3')$$, 'LP001', NULL,
                 'control: the deleted account asks for no new payout (LP001)');
SELECT is(tests.payout_status(tests.id('pia-1')), 'requested', 'the deletion leaves her payouts requested');
SELECT tests.authenticate_as('adam');
SELECT is((api.approve_payout(tests.id('pia-1'), 'appr-pia-1')).status::text, 'approved',
          'approve_payout: the deleted performer''s payout requested before the deletion is approved');
SELECT is((api.approve_payout(tests.id('pia-2'), 'appr-pia-2')).status::text, 'approved',
          'approve_payout: and her second one');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is((api.send_payout(tests.id('pia-1'), 'send-pia-1')).status::text, 'sending',
          'send_payout: the processor claims it (the gates of that moment hold: no sanction, her verification valid)');
SELECT is((api.mark_payout_paid(tests.id('pia-1'), 'SEPA-pia-1', 'paid-pia-1')).status::text, 'paid',
          'mark_payout_paid: recorded paid');
SELECT is((api.mark_payout_paid(tests.id('pia-2'), 'PP-pia-2', 'paid-pia-2')).status::text, 'paid',
          'mark_payout_paid: her approved payout paid in one step too');
SELECT tests.clear_authentication();
SELECT is(tests.earned(tests.wallet('pia')), 6000::bigint, 'pia''s wallet keeps the 6000 earned tokens she did not ask for');

-- == a demoted performer ======================================================================================
SELECT tests.authenticate_as('adam');
SELECT is((api.set_user_role(tests.user_id('dora'), 'viewer')).role::text, 'viewer',
          'adam makes dora a viewer, her payout requested');
SELECT tests.authenticate_as('dora');
SELECT throws_ok($$SELECT api.request_payout(5000, 'bank_transfer', 'dora-2')$$, 'LP102', NULL,
                 'control: no longer a performer, dora asks for no new payout (LP102)');
SELECT tests.authenticate_as('adam');
SELECT is((api.approve_payout(tests.id('dora-1'), 'appr-dora-1')).status::text, 'approved',
          'approve_payout: the payout she requested as a performer is approved');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is((api.send_payout(tests.id('dora-1'), 'send-dora-1')).status::text, 'sending', 'send_payout: claimed');
SELECT is((api.mark_payout_paid(tests.id('dora-1'), 'SEPA-dora-1', 'paid-dora-1')).status::text, 'paid',
          'mark_payout_paid: recorded paid');
SELECT tests.clear_authentication();

-- == what they leave ===========================================================================================
SELECT is(tests.clearing(), 0::bigint, 'payout_clearing is empty: the three payouts left as money');
SELECT ok(tests.sound(), 'the ledger is sound');
SELECT is((SELECT count(*) FROM lp.audit_logs AS a
            WHERE a.action = 'payout.approve'
              AND a.target_id IN (tests.id('pia-1')::text, tests.id('pia-2')::text, tests.id('dora-1')::text)),
          3::bigint, 'each approval is audited (payout.approve)');

SELECT is((SELECT count(*) FROM lp.payouts AS p WHERE p.user_id IN (tests.user_id('pia'), tests.user_id('dora'))
              AND p.status = 'paid'),
          3::bigint, 'three payouts paid to a deleted and a demoted account');

SELECT * FROM finish();
ROLLBACK;
