-- The fraud counters (lp.spend_counters) keep one UTC clock hour and one UTC day, and a spend is dated by its
-- transaction's start (now()). Transactions commit out of start order: one that began before an hour (or day)
-- boundary may count after one that began past it. Its spend must not move the counter back to its own, older
-- hour or day, which threw away what the later transaction counted and let the next spends start from zero
-- (lp.count_spend for api.tip, api.place_hold, api.create_payment; api.tip_many). Here the later transaction is
-- the counter row moved one hour and one day ahead of this transaction's clock.
BEGIN;
SELECT plan(14);

-- A transaction that began in the next clock hour and the next UTC day counted p_tips tips of p_tokens tokens
-- in all, and p_purchases payments, and committed.
CREATE FUNCTION tests.later(p_username text, p_tips integer, p_tokens bigint, p_purchases integer) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT lp.ensure_spend_counter(tests.user_id(p_username));
    UPDATE lp.spend_counters
       SET tip_hour = date_trunc('hour', now(), 'UTC') + interval '1 hour', tips_in_hour = p_tips,
           tip_day = date_trunc('day', now(), 'UTC') + interval '1 day', tip_tokens_day = p_tokens,
           purchase_hour = date_trunc('hour', now(), 'UTC') + interval '1 hour', purchases_in_hour = p_purchases,
           purchase_day = date_trunc('day', now(), 'UTC') + interval '1 day', purchase_tokens_day = 0
     WHERE user_id = tests.user_id(p_username);
$$;
CREATE FUNCTION tests.counter(p_username text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws('/', f.tips_in_hour, f.tip_tokens_day, f.purchases_in_hour,
                     f.tip_hour = date_trunc('hour', now(), 'UTC') + interval '1 hour',
                     f.tip_day = date_trunc('day', now(), 'UTC') + interval '1 day')
      FROM lp.spend_counters AS f WHERE f.user_id = tests.user_id(p_username)
$$;

CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(concat_ws(',', w.id, w.balance, w.reserved), ';' ORDER BY w.id) FROM lp.wallets AS w),
        'ledger ' || (SELECT count(*) FROM lp.ledger),
        'tips ' || (SELECT count(*) FROM lp.tips),
        'holds ' || (SELECT count(*) FROM lp.holds),
        'payments ' || (SELECT count(*) FROM lp.payments),
        (SELECT string_agg(concat_ws(',', f.user_id, f.tip_hour, f.tips_in_hour, f.tip_day, f.tip_tokens_day,
                                     f.purchase_hour, f.purchases_in_hour), ';' ORDER BY f.user_id)
           FROM lp.spend_counters AS f))
$$;

-- nina, nick: new accounts (no payment); vel, olga: old, with a completed payment; pia: performer.
DO $$
BEGIN
    PERFORM tests.create_user(u) FROM unnest(ARRAY['nina', 'nick', 'vel', 'olga']) AS u;
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.fund(u, 100000) FROM unnest(ARRAY['nina', 'nick', 'vel', 'olga']) AS u;
END
$$;
SELECT isnt(tests.purchase('vel', 'small', 'v1'), NULL, 'vel buys the small bundle (a verified payment)');
SELECT isnt(tests.purchase('olga', 'small', 'o1'), NULL, 'olga buys the small bundle (a verified payment)');
SELECT tests.age(u, 30) FROM unnest(ARRAY['vel', 'olga']) AS u;
SELECT tests.cfg('fraud.new_account_max_tip', '100');
SELECT tests.cfg('fraud.new_account_daily_tip_tokens', '250');
SELECT tests.cfg('fraud.tips_per_hour', '3');
SELECT tests.cfg('fraud.purchases_per_hour', '2');

-- new-account daily cap (api.tip): 250 tokens counted by the later transaction; 100 more is over it
SELECT tests.later('nina', 1, 250, 0);
SELECT tests.authenticate_as('nina');
SELECT * FROM tests.rejects(format($$SELECT api.tip(%L, 100, 'n-1')$$, tests.user_id('pia')), 'LP160',
                            'tip: a new account''s day counted by a later transaction is not reset by an earlier one');

-- new-account daily cap (api.tip_many)
SELECT tests.later('nick', 1, 250, 0);
SELECT results_eq(
    format($$SELECT ordinal, error_code FROM api.tip_many(jsonb_build_array(
                 jsonb_build_object('session_token', %L, 'recipient_id', %L, 'amount', 100, 'idempotency_key', 'k-1')))$$,
           (SELECT api.login('nick', tests.password())).token, tests.user_id('pia')),
    $$VALUES (1, 'LP160'::text)$$,
    'tip_many: a new account''s day counted by a later transaction is not reset by an earlier one');

-- velocity (api.place_hold, a hold counts as a tip): three counted in the later hour, a fourth is refused
SELECT tests.later('vel', 3, 30, 0);
SELECT tests.authenticate_as('vel');
SELECT * FROM tests.rejects(format($$SELECT api.place_hold(%L, 10, 'h-1')$$, tests.user_id('pia')), 'LP161',
                            'place_hold: the hour counted by a later transaction is not reset by an earlier one');

-- a spend that passes counts into the later hour and day, and leaves them there
RESET ROLE;
SELECT tests.later('vel', 1, 30, 0);
SELECT tests.authenticate_as('vel');
SELECT lives_ok(format($$SELECT api.tip(%L, 10, 'v-1')$$, tests.user_id('pia')), 'tip: vel tips 10 (2 of 3 this hour)');
SELECT is(tests.counter('vel'), '2/40/0/t/t',
          'tip: counted into the later hour and day, which stay the counter''s');
SELECT results_eq($$SELECT kind, tokens_today, this_hour FROM api.get_fraud_limits()$$,
                  $$VALUES ('tip'::text, 40::bigint, 2), ('purchase'::text, 0::bigint, 0)$$,
                  'get_fraud_limits: reads the counts of a later hour and day too');

-- purchase velocity (api.create_payment)
RESET ROLE;
SELECT tests.later('olga', 0, 0, 2);
SELECT tests.authenticate_as('olga');
SELECT * FROM tests.rejects($$SELECT api.create_payment('small', 'stripe', 'op-1')$$, 'LP161',
                            'create_payment: the hour counted by a later transaction is not reset by an earlier one');

SELECT ok(tests.sound(), 'every transaction sums to 0 and so do all balances');
RESET ROLE;
SELECT is_empty($$SELECT * FROM api.verify_ledger()$$, 'verify_ledger: clean');

SELECT * FROM finish();
ROLLBACK;
