-- Fraud controls on money (issue 9, section 4): new-account caps on tips and purchases (lp.count_spend from
-- api.tip, api.tip_many, api.create_payment), the velocity rules (refusal after the threshold, a fraud case in
-- the review queue from the call that reaches it), the chargeback reaction (lp.fraud_on_chargeback: a
-- high-priority fraud case, a tip_block on the buyer, a payout_hold on the performers who received most of the
-- tokens), api.get_fraud_limits and the settings' ranges. Every refusal changes nothing.
BEGIN;
SELECT plan(79);

-- Helpers of this file (SECURITY DEFINER where they read or write past RLS).
--   tests.fund(username, n)            credits n tokens from the issuance wallet (no payment: not a verified one)
--   tests.cfg(key, value)              sets a setting as the superuser
--   tests.age(username, days)          the account was created that many days ago
--   tests.state() / tests.snap() / tests.unchanged(description) / tests.rejects(sql, sqlstate, description)
--   tests.cases(username)              open fraud cases on the user
--   tests.sanctions(username, type)    active sanctions of a type on the user
--   tests.counter(username)            the user's lp.spend_counters row; tests.next_hour(username): an hour later
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(concat_ws(',', w.id, w.balance, w.reserved), ';' ORDER BY w.id) FROM lp.wallets AS w),
        (SELECT string_agg(concat_ws(',', s.wallet_id, s.shard, s.balance), ';' ORDER BY s.wallet_id, s.shard)
           FROM lp.wallet_shards AS s WHERE s.balance <> 0),
        'ledger ' || (SELECT count(*) FROM lp.ledger),
        'tips ' || (SELECT count(*) FROM lp.tips),
        'payments ' || (SELECT count(*) FROM lp.payments),
        (SELECT string_agg(concat_ws(',', f.user_id, f.tips_in_hour, f.tip_tokens_day, f.purchases_in_hour,
                                     f.purchase_tokens_day, f.first_payment_at), ';' ORDER BY f.user_id)
           FROM lp.spend_counters AS f),
        'reports ' || (SELECT count(*) FROM lp.reports),
        (SELECT string_agg(r.id::text || ':' || r.details::text, ';' ORDER BY r.id) FROM lp.reports AS r),
        'sanctions ' || (SELECT count(*) FROM lp.user_sanctions),
        'audit ' || (SELECT count(*) FROM lp.audit_logs))
$$;
CREATE FUNCTION tests.cases(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.reports AS r
     WHERE r.reported_user_id = tests.user_id(p_username) AND r.reason::text = 'fraud'
       AND r.status::text IN ('open', 'in_review', 'escalated')
$$;
CREATE FUNCTION tests.sanctions(p_username text, p_type text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.user_sanctions AS s
     WHERE s.user_id = tests.user_id(p_username) AND s.sanction_type::text = p_type AND s.revoked_at IS NULL
$$;
CREATE FUNCTION tests.counter(p_username text) RETURNS lp.spend_counters
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT f.* FROM lp.spend_counters AS f WHERE f.user_id = tests.user_id(p_username)
$$;
-- The counters' clock hour moved one hour back: the next spend is in a new hour.
CREATE FUNCTION tests.next_hour(p_username text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.spend_counters SET tip_hour = tip_hour - interval '1 hour', purchase_hour = purchase_hour - interval '1 hour'
     WHERE user_id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.tip(p_username text, p_to text, p_amount bigint, p_key text) RETURNS text
    LANGUAGE sql AS $$
    SELECT format('SELECT api.tip(%L, %s, %L)', tests.user_id(p_to), p_amount, p_key)
$$;

-- == Fixture ===============================================================================================
-- nina: new, no payment; olga: 30 days old, a completed payment; oscar: 30 days old, no payment;
-- nora: new, a completed payment; vel, val: old and paid (velocity); cara: the buyer of a charged-back payment;
-- pia, pete: performers; adam: admin; mona: moderator.
DO $$
BEGIN
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user(u) FROM unnest(ARRAY['nina', 'olga', 'oscar', 'nora', 'vel', 'val', 'cara']) AS u;
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('pete', 'performer');
    PERFORM tests.age(u, 30) FROM unnest(ARRAY['olga', 'oscar', 'vel', 'val', 'cara']) AS u;
    PERFORM tests.fund(u, 100000) FROM unnest(ARRAY['nina', 'olga', 'oscar', 'nora', 'vel', 'val']) AS u;
END
$$;
SELECT isnt(tests.purchase('olga', 'small', 'o1'), NULL, 'olga buys the small bundle (a verified payment)');
SELECT isnt(tests.purchase('nora', 'small', 'n1'), NULL, 'nora buys the small bundle (a verified payment)');
SELECT isnt(tests.purchase('vel', 'small', 'v1'), NULL, 'vel buys the small bundle');
SELECT isnt(tests.purchase('val', 'small', 'va1'), NULL, 'val buys the small bundle');
SELECT tests.cfg('fraud.new_account_max_tip', '100');
SELECT tests.cfg('fraud.new_account_daily_tip_tokens', '250');
SELECT tests.cfg('fraud.new_account_max_purchase', '1100');
SELECT tests.cfg('fraud.new_account_daily_purchase_tokens', '1500');

-- == Defaults ==============================================================================================
SELECT results_eq($$SELECT key, value::text FROM lp.settings WHERE key IN ('fraud.new_account_days',
                      'fraud.tips_per_hour', 'fraud.purchases_per_hour', 'fraud.chargeback_window_hours',
                      'fraud.chargeback_share_bps') ORDER BY key$$,
                  $$VALUES ('fraud.chargeback_share_bps', '2500'), ('fraud.chargeback_window_hours', '72'),
                           ('fraud.new_account_days', '7'), ('fraud.purchases_per_hour', '0'),
                           ('fraud.tips_per_hour', '0')$$,
                  'settings: new accounts are younger than 7 days; velocity rules off (0) until set; chargeback window 72 h, share 25 %');

-- == New-account caps on tips ==============================================================================
SELECT tests.authenticate_as('nina');
SELECT lives_ok(tests.tip('nina', 'pia', 100, 'n-1'), 'new account (no payment): a tip at the cap (100) passes');
SELECT * FROM tests.rejects(tests.tip('nina', 'pia', 101, 'n-2'), 'LP160', 'new account: a tip over fraud.new_account_max_tip');
SELECT lives_ok(tests.tip('nina', 'pia', 100, 'n-3'), 'new account: a second tip of 100 passes (200 today)');
SELECT * FROM tests.rejects(tests.tip('nina', 'pia', 51, 'n-4'), 'LP160', 'new account: a tip past fraud.new_account_daily_tip_tokens (251 > 250)');
SELECT lives_ok(tests.tip('nina', 'pia', 50, 'n-5'), 'new account: a tip up to the daily cap (250) passes');
SELECT is((SELECT amount FROM api.tip(tests.user_id('pia'), 100, 'n-1')), 100::bigint,
          'new account: a replay of a tip is not counted again (returns the original)');

SELECT tests.authenticate_as('olga');
SELECT lives_ok(tests.tip('olga', 'pia', 5000, 'o-1'), 'old account with a completed payment: no new-account cap (5000)');

SELECT tests.authenticate_as('oscar');
SELECT * FROM tests.rejects(tests.tip('oscar', 'pia', 101, 'os-1'), 'LP160', 'old account without a completed payment: still a new account');
SELECT isnt(tests.purchase('oscar', 'small', 'os1'), NULL, 'oscar completes a payment');
SELECT tests.authenticate_as('oscar');
SELECT lives_ok(tests.tip('oscar', 'pia', 5000, 'os-2'), 'old account after a completed payment: no cap any more');

SELECT tests.authenticate_as('nora');
SELECT * FROM tests.rejects(tests.tip('nora', 'pia', 101, 'no-1'), 'LP160', 'new account after a completed payment: still capped by its age');
SELECT tests.age('nora', 8);
SELECT tests.authenticate_as('nora');
SELECT lives_ok(tests.tip('nora', 'pia', 101, 'no-2'), 'the same account once older than fraud.new_account_days: no cap');

-- api.tip_many applies the same caps per sender, in input order
SELECT tests.cfg('fraud.new_account_daily_tip_tokens', '400');
SELECT results_eq(
    format($$SELECT ordinal, error_code FROM api.tip_many(jsonb_build_array(
                 jsonb_build_object('session_token', %1$L, 'recipient_id', %2$L, 'amount', 100, 'idempotency_key', 'm-1'),
                 jsonb_build_object('session_token', %1$L, 'recipient_id', %2$L, 'amount', 101, 'idempotency_key', 'm-2'),
                 jsonb_build_object('session_token', %1$L, 'recipient_id', %2$L, 'amount', 100, 'idempotency_key', 'm-3')))
             ORDER BY ordinal$$,
           (SELECT api.login('nina', tests.password())).token, tests.user_id('pia')),
    $$VALUES (1, NULL::text), (2, 'LP160'::text), (3, 'LP160'::text)$$,
    'tip_many: new account: 100 passes (350 today), 101 over the per-tip cap, the next 100 over the daily cap (450 > 400)');
SELECT is((tests.counter('nina')).tip_tokens_day, 350::bigint,
          'tip_many: only the accepted tip is counted');
SELECT tests.cfg('fraud.new_account_daily_tip_tokens', '250');

-- == New-account caps on purchases =========================================================================
SELECT tests.authenticate_as('nina');
SELECT * FROM tests.rejects($$SELECT api.create_payment('large', 'stripe', 'np-1')$$, 'LP160',
                            'new account: a purchase over fraud.new_account_max_purchase (6000 > 1100)');
SELECT lives_ok($$SELECT api.create_payment('medium', 'stripe', 'np-2')$$, 'new account: a purchase at the cap (1100) passes');
SELECT * FROM tests.rejects($$SELECT api.create_payment('small', 'stripe', 'np-3')$$, 'LP160',
                            'new account: a purchase past fraud.new_account_daily_purchase_tokens (1100 + 500 > 1500; payments created count)');
SELECT tests.authenticate_as('olga');
SELECT lives_ok($$SELECT api.create_payment('large', 'stripe', 'op-1')$$, 'old account with a payment: the large bundle');

-- == Velocity: tips ========================================================================================
SELECT tests.cfg('fraud.tips_per_hour', '3');
SELECT tests.authenticate_as('vel');
SELECT lives_ok(tests.tip('vel', 'pia', 10, 'v-1'), 'velocity: tip 1 of 3 this hour');
SELECT lives_ok(tests.tip('vel', 'pia', 10, 'v-2'), 'velocity: tip 2 of 3');
SELECT is(tests.cases('vel'), 0::bigint, 'velocity: below the threshold, no case');
SELECT lives_ok(tests.tip('vel', 'pia', 10, 'v-3'), 'velocity: tip 3 of 3 (reaches fraud.tips_per_hour) passes');
SELECT is(tests.cases('vel'), 1::bigint, 'velocity: the tip that reached the threshold opened a fraud case (it commits with the tip)');
RESET ROLE;
SELECT results_eq($$SELECT source::text, details -> 'events' -> 0 ->> 'rule', details -> 'events' -> 0 ->> 'kind'
                      FROM lp.reports WHERE reported_user_id = tests.user_id('vel')$$,
                  $$VALUES ('fraud'::text, 'velocity'::text, 'tip'::text)$$,
                  'velocity: the case comes from the fraud source and names the rule');
SELECT tests.authenticate_as('vel');
SELECT * FROM tests.rejects(tests.tip('vel', 'pia', 10, 'v-4'), 'LP161', 'velocity: tip 4 in the hour is refused');
SELECT is(tests.cases('vel'), 1::bigint, 'velocity: the case persists after the refusal (the refusal rolled back, not the case)');
SELECT results_eq(
    format($$SELECT ordinal, error_code FROM api.tip_many(jsonb_build_array(
                 jsonb_build_object('session_token', %1$L, 'recipient_id', %2$L, 'amount', 10, 'idempotency_key', 'vm-1')))$$,
           (SELECT api.login('vel', tests.password())).token, tests.user_id('pia')),
    $$VALUES (1, 'LP161'::text)$$, 'tip_many: velocity refusal of a sender past the threshold');
-- the next clock hour starts a new count
SELECT tests.next_hour('vel');
SELECT tests.authenticate_as('vel');
SELECT lives_ok(tests.tip('vel', 'pia', 10, 'v-5'), 'velocity: in the next clock hour tips pass again');
-- tip_many: the batch that reaches the threshold opens the case, the tip after it in the batch is refused
SELECT results_eq(
    format($$SELECT ordinal, error_code FROM api.tip_many(jsonb_build_array(
                 jsonb_build_object('session_token', %1$L, 'recipient_id', %2$L, 'amount', 10, 'idempotency_key', 'wm-1'),
                 jsonb_build_object('session_token', %1$L, 'recipient_id', %2$L, 'amount', 10, 'idempotency_key', 'wm-2'),
                 jsonb_build_object('session_token', %1$L, 'recipient_id', %2$L, 'amount', 10, 'idempotency_key', 'wm-3'),
                 jsonb_build_object('session_token', %1$L, 'recipient_id', %2$L, 'amount', 10, 'idempotency_key', 'wm-4')))
             ORDER BY ordinal$$,
           (SELECT api.login('val', tests.password())).token, tests.user_id('pia')),
    $$VALUES (1, NULL::text), (2, NULL::text), (3, NULL::text), (4, 'LP161'::text)$$,
    'tip_many: three tips pass, the fourth of the hour is refused');
SELECT is(tests.cases('val'), 1::bigint, 'tip_many: the sender whose tips reached the threshold has a fraud case');
SELECT tests.cfg('fraud.tips_per_hour', '0');
-- tip_many reads its settings in one statement: a fraud control's setting that is absent is off (as
-- lp.count_spend reads it), a tip setting that is absent is LP091 naming it, and nothing is written
SAVEPOINT absent;
RESET ROLE;
SELECT tests.cfg('fraud.tips_per_hour', '1');  -- nina tipped this hour already: present, it would refuse
DELETE FROM lp.settings WHERE key IN ('fraud.tips_per_hour', 'fraud.new_account_max_tip');
SELECT tests.cfg('fraud.new_account_daily_tip_tokens', '0');
-- one tip of nina's to pia through api.tip_many, as a statement for results_eq and throws_ok
CREATE FUNCTION pg_temp.nina_tips(p_amount integer, p_key text) RETURNS text
    LANGUAGE sql AS $f$
    SELECT format($$SELECT ordinal, error_code FROM api.tip_many(jsonb_build_array(
                      jsonb_build_object('session_token', %L, 'recipient_id', %L, 'amount', %s, 'idempotency_key', %L)))$$,
                  (SELECT api.login('nina', tests.password())).token, tests.user_id('pia'), p_amount, p_key)
$f$;
SELECT results_eq(pg_temp.nina_tips(500, 'abs-1'), $$VALUES (1, NULL::text)$$,
                  'tip_many: absent fraud settings are off (a new account tips over the old cap)');
DELETE FROM lp.settings WHERE key = 'tips.max_tokens';
SELECT throws_ok(pg_temp.nina_tips(10, 'abs-2'), 'LP091', 'unknown setting ''tips.max_tokens''',
                 'tip_many: a tip setting that is absent is LP091, named');
DELETE FROM lp.settings WHERE key = 'events.wake_up';
SELECT throws_ok(pg_temp.nina_tips(10, 'abs-3'), 'LP091', 'unknown setting ''events.wake_up''',
                 'tip_many: events.wake_up absent is LP091, named');
ROLLBACK TO SAVEPOINT absent;

-- == Velocity: purchases ===================================================================================
SELECT tests.cfg('fraud.purchases_per_hour', '2');
SELECT tests.authenticate_as('olga');
SELECT is(tests.cases('olga'), 0::bigint, 'purchase velocity: olga created two payments this hour before the rule was set: no case');
SELECT * FROM tests.rejects($$SELECT api.create_payment('small', 'stripe', 'op-2')$$, 'LP161',
                            'purchase velocity: a third payment created this hour is refused');
SELECT tests.next_hour('olga');
SELECT tests.authenticate_as('olga');
SELECT lives_ok($$SELECT api.create_payment('small', 'stripe', 'op-3')$$, 'purchase velocity: 1 of 2 in a new hour');
SELECT is(tests.cases('olga'), 0::bigint, 'purchase velocity: no case below the threshold');
SELECT lives_ok($$SELECT api.create_payment('small', 'stripe', 'op-4')$$, 'purchase velocity: 2 of 2 passes');
SELECT is(tests.cases('olga'), 1::bigint, 'purchase velocity: the purchase that reached the threshold opened a fraud case');
SELECT * FROM tests.rejects($$SELECT api.create_payment('small', 'stripe', 'op-5')$$, 'LP161',
                            'purchase velocity: the next one is refused');
SELECT tests.cfg('fraud.purchases_per_hour', '0');

-- == Chargeback ============================================================================================
-- cara buys 1100 tokens, tips pia 700 (64 %) and pete 200 (18 %): a chargeback blocks cara's tips and holds
-- pia's payouts (>= 25 %), not pete's.
RESET ROLE;
SELECT tests.remember('cb', tests.purchase('cara', 'medium', 'c1'));
SELECT tests.authenticate_as('cara');
SELECT lives_ok(tests.tip('cara', 'pia', 700, 'c-1'), 'cara tips pia 700 of her 1100 tokens');
SELECT lives_ok(tests.tip('cara', 'pete', 200, 'c-2'), 'cara tips pete 200');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format($$SELECT api.chargeback_payment(%L, 'stolen card', 'cb-1')$$, tests.id('cb')),
                'the service records a chargeback of cara''s payment');
RESET ROLE;
SELECT results_eq($$SELECT source::text, reason::text, details ->> 'priority_floor', description LIKE 'Chargeback of payment%'
                      FROM lp.reports WHERE reported_user_id = tests.user_id('cara')$$,
                  $$VALUES ('fraud'::text, 'fraud'::text, 'high'::text, true)$$,
                  'chargeback: a high-priority fraud case on the buyer, describing the chargeback');
SELECT results_eq($$SELECT sanction_type::text, issued_by, ends_at, report_id = (SELECT id FROM lp.reports WHERE reported_user_id = tests.user_id('cara'))
                      FROM lp.user_sanctions WHERE user_id = tests.user_id('cara')$$,
                  $$VALUES ('tip_block'::text, NULL::uuid, NULL::timestamptz, true)$$,
                  'chargeback: an automated, open-ended tip_block on the buyer naming the case (pending review)');
SELECT is(tests.sanctions('pia', 'payout_hold'), 1::bigint, 'chargeback: a payout_hold on pia (64 % of the tokens)');
SELECT is(tests.sanctions('pete', 'payout_hold'), 0::bigint, 'chargeback: none on pete (18 % < fraud.chargeback_share_bps)');
SELECT results_eq($$SELECT jsonb_array_length(details -> 'payout_holds'), details ->> 'tip_block_id' IS NOT NULL
                      FROM tests.last_audit('payment.chargeback')$$,
                  $$VALUES (1, true)$$, 'chargeback: the audit row names the tip_block and the payout holds');
SELECT tests.snap();
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format($$SELECT api.chargeback_payment(%L, 'stolen card', 'cb-1')$$, tests.id('cb')),
                'chargeback: a replay with the same key');
SELECT tests.unchanged('chargeback: the replay files no second case and no second sanction');
SELECT tests.authenticate_as('cara');
SELECT throws_ok(tests.tip('cara', 'pia', 10, 'c-3'), 'LP150', NULL, 'chargeback: the buyer can no longer tip (tip_block)');
SELECT is((tests.counter('cara')).first_payment_at, NULL::timestamptz,
          'chargeback: the charged-back payment no longer makes cara''s account verified');
-- window: tips after fraud.chargeback_window_hours do not count
SELECT tests.cfg('fraud.chargeback_window_hours', '0');
RESET ROLE;
SELECT tests.remember('cb2', tests.purchase('olga', 'small', 'o2'));
SELECT tests.authenticate_as('olga');
SELECT lives_ok(tests.tip('olga', 'pete', 400, 'o-2'), 'olga tips pete 400 (80 % of 500)');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format($$SELECT api.chargeback_payment(%L, 'dispute', 'cb-2')$$, tests.id('cb2')), 'chargeback of olga''s payment');
SELECT is(tests.sanctions('pete', 'payout_hold'), 0::bigint, 'chargeback: tips outside the window put no payout_hold');
SELECT is(tests.sanctions('olga', 'tip_block'), 1::bigint, 'chargeback: the buyer is blocked whatever the window');

-- a refund, like a chargeback, takes back the payment's verification (first_payment_at)
SELECT tests.clear_authentication();
RESET ROLE;
SELECT tests.create_user('rufus');
SELECT tests.remember('rf', tests.purchase('rufus', 'small', 'rf'));
SELECT isnt((tests.counter('rufus')).first_payment_at, NULL::timestamptz, 'a completed payment makes rufus''s account verified');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT lives_ok(format($$SELECT api.refund_payment(%L, 'customer asked', 'rf-1')$$, tests.id('rf')), 'refund of rufus''s only payment');
SELECT is((tests.counter('rufus')).first_payment_at, NULL::timestamptz,
          'refund: the refunded payment no longer makes rufus''s account verified (the new-account caps apply again)');

-- == api.get_fraud_limits ==================================================================================
SELECT tests.authenticate_as('nina');
SELECT results_eq($$SELECT kind, new_account, verified_payment, max_tokens, daily_tokens, tokens_today, per_hour
                      FROM api.get_fraud_limits()$$,
                  $$VALUES ('tip'::text, true, false, 100::bigint, 250::bigint, 350::bigint, NULL::integer),
                           ('purchase'::text, true, false, 1100::bigint, 1500::bigint, 1100::bigint, NULL::integer)$$,
                  'get_fraud_limits: a new account sees its caps and what it used today');
SELECT throws_ok(format('SELECT * FROM api.get_fraud_limits(%L)', tests.user_id('olga')), 'LP002', NULL,
                 'get_fraud_limits: a viewer cannot read another user''s');
SELECT tests.authenticate_as('mona');
SELECT results_eq(format('SELECT kind, new_account, max_tokens FROM api.get_fraud_limits(%L)', tests.user_id('oscar')),
                  $$VALUES ('tip'::text, false, NULL::bigint), ('purchase'::text, false, NULL::bigint)$$,
                  'get_fraud_limits: a moderator reads another user''s (an old account with a payment: no caps)');

-- == Settings ==============================================================================================
SELECT tests.authenticate_as('adam');
SELECT throws_ok($$SELECT api.set_setting('fraud.chargeback_share_bps', '0')$$, 'LP092', NULL,
                 'set_setting: fraud.chargeback_share_bps is 1..10000');
SELECT lives_ok($$SELECT api.set_setting('fraud.tips_per_hour', '120')$$, 'set_setting: an admin sets the tip velocity rule');

SELECT ok(tests.sound(), 'every transaction sums to 0 and so do all balances');

SELECT * FROM finish();
ROLLBACK;
