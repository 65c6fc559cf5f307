-- Payouts: api.request_payout, api.approve_payout, api.reject_payout, api.mark_payout_paid, api.mark_payout_failed,
-- api.cancel_payout, api.list_payouts and lp.payable_tokens: KYC, sanction, minimum and hold-period rules, every
-- rejection with its SQLSTATE and "nothing changed", the full lifecycles with exact balances of the performer,
-- payout clearing and issuance, idempotent replays and LP106 for each operation, and the ledger summing to zero.
-- The payable rule: max(0, min(available, matured earnings - tokens taken by payouts)): bought tokens are never
-- payable, earnings only once older than payouts.hold_days, requested/approved/paid payouts take their tokens
-- (rejected, failed and cancelled ones give them back), and spending consumes earnings first.
BEGIN;
SELECT plan(269);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   10_scratch.sql:  tests.remember, tests.id
--   20_money.sql:    tests.wallet, tests.audits

-- Helpers of this file.
-- A wallet's total (main balance + credit shards) and its main balance alone.
CREATE FUNCTION tests.total(p_wallet uuid) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance + coalesce((SELECT sum(s.balance) FROM lp.wallet_shards AS s WHERE s.wallet_id = w.id), 0)::bigint
      FROM lp.wallets AS w WHERE w.id = p_wallet
$$;
CREATE FUNCTION tests.total(p_username text) RETURNS bigint
    LANGUAGE sql STABLE AS $$ SELECT tests.total(tests.wallet(p_username)) $$;
CREATE FUNCTION tests.main(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT w.balance FROM lp.wallets AS w WHERE w.id = tests.wallet(p_username)
$$;
CREATE FUNCTION tests.sys(p_code text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT tests.total(w.id) FROM lp.wallets AS w WHERE w.system_code = p_code
$$;
CREATE FUNCTION tests.payable(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT lp.payable_tokens(tests.wallet(p_username))
$$;
CREATE FUNCTION tests.kyc(p_username text, p_level text, p_status text, p_expires_at timestamptz DEFAULT NULL) RETURNS uuid
    LANGUAGE sql AS $$
    INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, document_front_url,
                                      reviewed_at, expires_at, rejection_reason)
    VALUES (tests.user_id(p_username), p_level::lp.kyc_level, p_status::lp.kyc_status, 'passport', 'DE', 's3://kyc-docs/' || p_username || '.jpg',
            CASE WHEN p_status <> 'submitted' THEN now() END, p_expires_at,
            CASE WHEN p_status = 'declined' THEN 'blurry' END)
    RETURNING id
$$;
-- Both return a TAP comment, so that a top-level SELECT prints nothing but TAP.
CREATE FUNCTION tests.set_hold_days(p_days integer) RETURNS text
    LANGUAGE sql AS $$
    UPDATE lp.settings SET value = to_jsonb(p_days) WHERE key = 'payouts.hold_days';
    SELECT format('# payouts.hold_days = %s', p_days)
$$;
-- Time travel for earnings: moves a tip (its row and every entry of its ledger transaction) p_age into the past
-- (a negative age moves it forward again). The ledger is append-only (its triggers refuse UPDATE), so the
-- triggers are switched off for these statements only (session_replication_role, as in test_spending_limits).
CREATE FUNCTION tests.age_tip(p_sender text, p_key text, p_age interval) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v_tx uuid := (SELECT t.transaction_id FROM lp.tips AS t
                   WHERE t.sender_id = tests.user_id(p_sender) AND t.idempotency_key = p_key);
BEGIN
    IF v_tx IS NULL THEN
        RAISE EXCEPTION 'tests.age_tip: no tip % of %', p_key, p_sender;
    END IF;
    PERFORM set_config('session_replication_role', 'replica', true);
    UPDATE lp.ledger AS e SET created_at = e.created_at - p_age WHERE e.transaction_id = v_tx;
    UPDATE lp.tips AS t SET created_at = t.created_at - p_age WHERE t.transaction_id = v_tx;
    PERFORM set_config('session_replication_role', 'origin', true);
    RETURN format('# tip %s of %s moved %s into the past', p_key, p_sender, p_age);
END
$$;
-- Everything a payout function may write.
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT md5(concat_ws('|',
        (SELECT string_agg(concat_ws(',', w.id, w.balance, w.reserved, w.debt_since), ';' ORDER BY w.id) FROM lp.wallets AS w),
        (SELECT string_agg(concat_ws(',', s.wallet_id, s.shard, s.balance), ';' ORDER BY s.wallet_id, s.shard) FROM lp.wallet_shards AS s),
        (SELECT count(*) FROM lp.ledger),
        (SELECT string_agg(p::text, ';' ORDER BY p.id) FROM lp.payouts AS p),
        (SELECT string_agg(k::text, ';' ORDER BY k.scope, k.key) FROM lp.idempotency_keys AS k),
        (SELECT count(*) FROM lp.audit_logs)))
$$;
-- throws_ok plus "nothing changed" (balances, ledger, payouts, idempotency keys, audit): two assertions.
-- The ledger entries of a payout: kind, wallet (username or system code), shard 0 or not, amount; transaction by
-- transaction, debits first.
CREATE FUNCTION tests.payout_entries(p_payout uuid) RETURNS TABLE (entry_kind text, account text, on_main boolean, amount bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT l.entry_kind, coalesce(u.username::text, w.system_code), l.shard = 0, l.amount
      FROM lp.ledger AS l JOIN lp.wallets AS w ON w.id = l.wallet_id LEFT JOIN lp.users AS u ON u.id = w.user_id
     WHERE l.reference_type = 'payout' AND l.reference_id = p_payout
     ORDER BY min(l.id) OVER (PARTITION BY l.transaction_id), l.amount
$$;
CREATE FUNCTION tests.payout_status(p_payout uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$ SELECT status FROM lp.payouts WHERE id = p_payout $$;
CREATE FUNCTION tests.service() RETURNS text
    LANGUAGE sql AS $$ SELECT tests.authenticate_as(NULL, 'livepanty_service') $$;

-- pia, pete: performers with an approved identity verification; nokyc: only a pending one; expk: an expired
-- approval; agek: only an age-level approval (each once they earned: see below); susi: approved but suspended; paula: a performer promoted to admin
-- later; bob: an approved performer who only bought tokens; vic: a viewer who tips; adam, ada: admins.
-- Purchases (from issuance): vic 200000, pia 20000, pete 6000, bob 10000: 236000 tokens in all. Every other
-- token a performer holds is an earning: a tip from vic through api.tip (fee 20 %).
DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer', p_verified => false);  -- approved below
    PERFORM tests.create_user('pete', 'performer', p_verified => false);  -- approved below
    PERFORM tests.create_user('nokyc', 'performer');
    PERFORM tests.create_user('expk', 'performer');
    PERFORM tests.create_user('agek', 'performer');
    PERFORM tests.create_user('susi', 'performer', p_verified => false);  -- approved below
    PERFORM tests.create_user('paula', 'performer', p_verified => false);  -- approved below
    PERFORM tests.create_user('bob', 'performer', p_verified => false);  -- approved below
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.remember('kyc_pia', tests.kyc('pia', 'identity', 'approved', now() + interval '1 year'));
    PERFORM tests.kyc('pete', 'identity', 'approved');
    PERFORM tests.kyc('nokyc', 'identity', 'declined');
    PERFORM tests.kyc('nokyc', 'identity', 'submitted');
    PERFORM tests.kyc('expk', 'identity', 'approved', now() - interval '1 second');
    PERFORM tests.kyc('agek', 'age', 'approved');
    PERFORM tests.kyc('susi', 'identity', 'approved');
    PERFORM tests.kyc('paula', 'identity', 'approved');
    PERFORM tests.kyc('bob', 'identity', 'approved');
    PERFORM tests.kyc('vic', 'identity', 'approved');
    PERFORM tests.fund('vic', 200000);
    PERFORM tests.fund('pia', 20000);
    PERFORM tests.fund('pete', 6000);
    PERFORM tests.fund('bob', 10000);
    PERFORM tests.set_hold_days(7);
END
$$;
-- Earnings, through api.tip: vic tips pia 25000 twice (pia +20000 each), pete 10000 (+8000), paula 10000 (+8000)
-- and nokyc, expk, agek and susi 12500 each (+10000 each): 120000 tokens, 24000 of them platform fees.
SELECT tests.authenticate_as('vic');
SELECT lives_ok(format('SELECT api.tip(%L, 25000, ''tip-pia-old'')', tests.user_id('pia')), 'setup: vic tips pia 25000');
SELECT lives_ok(format('SELECT api.tip(%L, 25000, ''tip-pia-new'')', tests.user_id('pia')), 'setup: vic tips pia another 25000');
SELECT lives_ok(format('SELECT api.tip(%L, 10000, ''tip-pete'')', tests.user_id('pete')), 'setup: vic tips pete 10000');
SELECT lives_ok(format('SELECT api.tip(%L, 10000, ''tip-paula'')', tests.user_id('paula')), 'setup: vic tips paula 10000');
SELECT lives_ok(format('SELECT api.tip(%L, 12500, ''tip-nokyc'')', tests.user_id('nokyc')), 'setup: vic tips nokyc 12500');
SELECT lives_ok(format('SELECT api.tip(%L, 12500, ''tip-expk'')', tests.user_id('expk')), 'setup: vic tips expk 12500');
SELECT lives_ok(format('SELECT api.tip(%L, 12500, ''tip-agek'')', tests.user_id('agek')), 'setup: vic tips agek 12500');
SELECT lives_ok(format('SELECT api.tip(%L, 12500, ''tip-susi'')', tests.user_id('susi')), 'setup: vic tips susi 12500');
SELECT tests.clear_authentication();
-- susi is suspended only now (a sanctioned performer cannot be tipped). Every earning but pia's second tip and
-- paula's tip was received 8 days ago.
INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, ends_at)
VALUES (tests.user_id('susi'), 'suspension', 'test', now() + interval '1 day');
SELECT tests.age_tip('vic', 'tip-pia-old', interval '8 days');
SELECT tests.age_tip('vic', 'tip-pete', interval '8 days');
SELECT tests.age_tip('vic', 'tip-nokyc', interval '8 days');
SELECT tests.age_tip('vic', 'tip-expk', interval '8 days');
SELECT tests.age_tip('vic', 'tip-agek', interval '8 days');
-- They earned while verified (the KYC gate of being paid: tests.create_user's approval); that approval has
-- lapsed since, leaving each with only the verification named above.
UPDATE lp.kyc_verifications SET expires_at = now() - interval '1 second'
 WHERE user_id IN (tests.user_id('nokyc'), tests.user_id('expk'), tests.user_id('agek')) AND document_front_url IS NULL;
SELECT tests.age_tip('vic', 'tip-susi', interval '8 days');

-- == lp.payable_tokens: bought tokens, the hold period, reserved tokens =====================================
SELECT is(tests.total('pia'), 60000::bigint, 'pia holds 60000 tokens (20000 bought, 20000 earned 8 days ago, 20000 earned now)');
SELECT is(tests.main('pia'), 0::bigint, 'all of them on credit shards (credits to a performer land on shards, purchases too)');
SELECT is(tests.payable('pia'), 20000::bigint,
          'payable: only the earnings older than payouts.hold_days (7): neither the bought tokens nor this week''s earnings');
SELECT tests.age_tip('vic', 'tip-pia-new', interval '7 days' - interval '1 second');
SELECT is(tests.payable('pia'), 20000::bigint, 'payable: an earning one second short of 7 days old is not yet payable');
SELECT tests.age_tip('vic', 'tip-pia-new', interval '1 second');
SELECT is(tests.payable('pia'), 40000::bigint, 'payable: an earning exactly 7 days old is');
SELECT tests.age_tip('vic', 'tip-pia-new', interval '-7 days');
SELECT is(tests.payable('pia'), 20000::bigint, 'payable: back to a fresh earning, held again');
SELECT is(lp.sweep_wallet(tests.wallet('pia')), 60000::bigint, 'the shards are swept into the main balance');
SELECT is(tests.payable('pia'), 20000::bigint, 'payable: a sweep (shard -> main) is not counted as earnings again');
SELECT tests.set_hold_days(0);
SELECT is(tests.payable('pia'), 40000::bigint, 'payable: with payouts.hold_days 0 every earning is payable, the 20000 bought tokens still not');
UPDATE lp.wallets SET reserved = 1500 WHERE id = tests.wallet('pia');
SELECT is(tests.payable('pia'), 40000::bigint, 'payable: reserved tokens lower the available balance (58500), which does not cap 40000');
UPDATE lp.wallets SET reserved = 25000 WHERE id = tests.wallet('pia');
SELECT is(tests.payable('pia'), 35000::bigint, 'payable: reserved tokens (open holds) are not payable: available 35000 caps it');
UPDATE lp.wallets SET reserved = 0 WHERE id = tests.wallet('pia');
SELECT tests.set_hold_days(7);
SELECT is(tests.payable('pete'), 8000::bigint,
          'payable: pete (6000 bought, 8000 earned 8 days ago and still on shards): his 8000 earnings');
SELECT is(tests.payable('paula'), 0::bigint, 'payable: paula, who earned her 8000 this week: nothing yet');
SELECT is(tests.payable('bob'), 0::bigint, 'payable: bob, who only bought tokens (10000): nothing');
SELECT is(tests.payable('vic'), 0::bigint, 'payable: a viewer''s tokens are all bought: nothing');
SELECT ok((SELECT bool_and(tests.payable(u) = 10000) FROM unnest(ARRAY['nokyc', 'expk', 'agek', 'susi']) AS u),
          'payable: nokyc, expk, agek and susi each have 10000 matured earnings (their rejections below are not for want of them)');

-- == api.request_payout: rejections (payouts.hold_days 7, pia may take 20000) ==============================
SELECT tests.authenticate_as(NULL);
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'bank_transfer', 'k1')$$, 'LP001', 'request_payout: nobody acting is LP001');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'bank_transfer', 'k1')$$, 'LP102', 'request_payout: a viewer is LP102');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'bank_transfer', 'k1')$$, 'LP102', 'request_payout: an admin is LP102');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'cash', 'k1')$$, 'LP018', 'request_payout: an unknown method is LP018');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, NULL, 'k1')$$, 'LP018', 'request_payout: a NULL method is LP018');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'paypal', ' ')$$, 'LP018', 'request_payout: a blank key is LP018');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'paypal', NULL)$$, 'LP018', 'request_payout: a NULL key is LP018');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'paypal', repeat('k', 129))$$, 'LP018', 'request_payout: a key over 128 characters is LP018');
SELECT * FROM tests.rejects($$SELECT api.request_payout(4999, 'paypal', 'k1')$$, 'LP103', 'request_payout: below payouts.min_tokens (5000) is LP103');
SELECT * FROM tests.rejects($$SELECT api.request_payout(0, 'paypal', 'k1')$$, 'LP103', 'request_payout: zero is LP103');
SELECT * FROM tests.rejects($$SELECT api.request_payout(-5000, 'paypal', 'k1')$$, 'LP103', 'request_payout: a negative amount is LP103');
SELECT * FROM tests.rejects($$SELECT api.request_payout(NULL, 'paypal', 'k1')$$, 'LP103', 'request_payout: a NULL amount is LP103');
SELECT * FROM tests.rejects($$SELECT api.request_payout(20001, 'paypal', 'k1')$$, 'LP112',
                            'request_payout: more than the payable tokens (recent earnings are held, bought tokens never paid) is LP112');
SELECT tests.authenticate_as('bob');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'paypal', 'k1')$$, 'LP112',
                            'request_payout: a performer who only bought tokens (10000 available) is LP112');
SELECT tests.authenticate_as('paula');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'paypal', 'k1')$$, 'LP112',
                            'request_payout: a performer whose earnings are all younger than payouts.hold_days is LP112');
SELECT tests.authenticate_as('nokyc');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'paypal', 'k1')$$, 'LP111',
                            'request_payout: a rejected and a pending verification are not enough (LP111)');
SELECT tests.authenticate_as('expk');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'paypal', 'k1')$$, 'LP111', 'request_payout: an expired approval is LP111');
SELECT tests.authenticate_as('agek');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'paypal', 'k1')$$, 'LP111', 'request_payout: an age-level approval is LP111');
SELECT tests.authenticate_as('susi');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'paypal', 'k1')$$, 'LP022', 'request_payout: a suspended performer is LP022');

-- == request: pia takes all 20000 payable tokens (hold period 7 days) ======================================
SELECT tests.authenticate_as('pia');
SELECT results_eq(
    $$SELECT user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, currency, method::text, status::text,
             reviewed_by, reviewed_at, paid_at, idempotency_key, created_at
        FROM api.request_payout(20000, 'bank_transfer', 'k1')$$,
    format($$VALUES (%L::uuid, %L::uuid, 20000::bigint, 100, 20000::bigint, 'USD', 'bank_transfer', 'requested',
                     NULL::uuid, NULL::timestamptz, NULL::timestamptz, 'k1', now())$$,
           tests.user_id('pia'), tests.id('kyc_pia')),
    'request_payout: 20000 tokens at 100 per USD = 20000 cents, linked to the approved verification, requested');
SELECT tests.clear_authentication();
SELECT tests.remember('p1', (SELECT id FROM lp.payouts WHERE user_id = tests.user_id('pia') AND idempotency_key = 'k1'));
SELECT is(tests.total('pia'), 40000::bigint, 'request: pia 60000 - 20000');
SELECT is(tests.sys('payout_clearing'), 20000::bigint, 'request: payout clearing +20000');
SELECT is(tests.sys('issuance'), -236000::bigint, 'request: issuance unchanged (the tokens still circulate)');
SELECT results_eq(format('SELECT * FROM tests.payout_entries(%L)', tests.id('p1')),
                  $$VALUES ('payout', 'pia', true, -20000::bigint), ('payout', 'payout_clearing', false, 20000::bigint)$$,
                  'request: one ledger transaction, pia''s main balance -20000, a clearing shard +20000');
SELECT is(tests.audits('payout.request', tests.id('p1')), 1::bigint, 'request: audited as payout.request');
SELECT is(tests.payable('pia'), 0::bigint, 'request: nothing more is payable for now (her 20000 matured earnings are taken)');
CREATE TEMP TABLE p1_first ON COMMIT DROP AS SELECT * FROM lp.payouts WHERE id = tests.id('p1');
GRANT SELECT ON p1_first TO PUBLIC;

SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5000, 'paypal', 'k-more')$$, 'LP112', 'request_payout: nothing left to pay out is LP112');
CREATE TEMP TABLE counts ON COMMIT DROP AS SELECT tests.state() AS state;
SELECT results_eq($$SELECT to_jsonb(p) FROM api.request_payout(20000, 'bank_transfer', 'k1') AS p$$,
                  $$SELECT to_jsonb(p) FROM p1_first AS p$$, 'request_payout replay: the same key and arguments return the original payout');
SELECT is(tests.state(), (SELECT state FROM counts), 'request_payout replay: moves nothing, writes nothing');
SELECT * FROM tests.rejects($$SELECT api.request_payout(20001, 'bank_transfer', 'k1')$$, 'LP106',
                            'request_payout replay: the same key with another amount is LP106');
SELECT * FROM tests.rejects($$SELECT api.request_payout(20000, 'paypal', 'k1')$$, 'LP106',
                            'request_payout replay: the same key with another method is LP106');

-- pete's earnings are still on his shards: the request sweeps them first. Keys are per user: pete may use k1.
SELECT tests.authenticate_as('pete');
SELECT * FROM tests.rejects($$SELECT api.request_payout(8001, 'paxum', 'k1')$$, 'LP112',
                            'request_payout: pete may not take his bought tokens along with his 8000 earnings (14000 available): LP112');
SELECT results_eq($$SELECT tokens, status::text FROM api.request_payout(6000, 'paxum', 'k1')$$, $$VALUES (6000::bigint, 'requested')$$,
                  'request_payout: pete takes his 6000 payable tokens (another user may use the same key)');
SELECT tests.clear_authentication();
SELECT tests.remember('pete1', (SELECT id FROM lp.payouts WHERE user_id = tests.user_id('pete')));
SELECT is(tests.main('pete'), 8000::bigint, 'request: pete''s shards were swept into his main balance first (14000 - 6000)');
SELECT is(tests.total('pete'), 8000::bigint, 'request: nothing left on pete''s shards');
SELECT is(tests.sys('payout_clearing'), 26000::bigint, 'request: payout clearing 20000 + 6000');
SELECT is(tests.payable('pete'), 2000::bigint, 'request: pete may still take 2000 (8000 earned - 6000 taken; bought tokens never)');

-- From here every earning is payable.
SELECT tests.set_hold_days(0);
SELECT is(tests.payable('pia'), 20000::bigint,
          'hold_days 0: pia may take 20000 more (40000 earned - 20000 requested; 40000 available, half of them bought)');

-- == approve and pay (p1) ==================================================================================
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format('SELECT api.approve_payout(%L, ''a1'')', tests.id('p1')), 'LP002', 'approve_payout: a performer (own payout) is LP002');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format('SELECT api.approve_payout(%L, ''a1'')', tests.id('p1')), 'LP002', 'approve_payout: a moderator is LP002');
SELECT tests.authenticate_as(NULL);
SELECT * FROM tests.rejects(format('SELECT api.approve_payout(%L, ''a1'')', tests.id('p1')), 'LP001', 'approve_payout: nobody acting is LP001');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.approve_payout(%L, ''a1'')', gen_random_uuid()), 'LP003', 'approve_payout: an unknown payout is LP003');
SELECT * FROM tests.rejects(format('SELECT api.approve_payout(%L, '''')', tests.id('p1')), 'LP018', 'approve_payout: an empty key is LP018');
SELECT tests.service();
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, ''bank-1'', ''m0'')', tests.id('p1')), 'LP004',
                            'mark_payout_paid: a payout not yet approved is LP004');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_failed(%L, ''bounced'', ''f0'')', tests.id('p1')), 'LP004',
                            'mark_payout_failed: a payout not yet approved is LP004');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, ''bank-1'', ''m0'')', tests.id('p1')), '42501',
                            'mark_payout_paid: service role only (the application role, even an admin, is 42501)');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_failed(%L, ''bounced'', ''f0'')', tests.id('p1')), '42501',
                            'mark_payout_failed: service role only (42501)');

SELECT results_eq(format('SELECT id, status::text, reviewed_by, reviewed_at, paid_at FROM api.approve_payout(%L, ''a1'')', tests.id('p1')),
                  format($$VALUES (%L::uuid, 'approved', %L::uuid, now(), NULL::timestamptz)$$, tests.id('p1'), tests.user_id('adam')),
                  'approve_payout: an admin approves a requested payout');
SELECT tests.clear_authentication();
SELECT is(tests.total('pia'), 40000::bigint, 'approve: pia unchanged');
SELECT is(tests.sys('payout_clearing'), 26000::bigint, 'approve: clearing unchanged (no tokens move)');
SELECT is((SELECT count(*) FROM tests.payout_entries(tests.id('p1'))), 2::bigint, 'approve: no ledger entry');
SELECT is(tests.audits('payout.approve', tests.id('p1')), 1::bigint, 'approve: audited as payout.approve');
SELECT is(tests.payable('pia'), 20000::bigint, 'approve: an approved payout still takes its tokens from payable');
CREATE TEMP TABLE p1_approved ON COMMIT DROP AS SELECT * FROM lp.payouts WHERE id = tests.id('p1');
GRANT SELECT ON p1_approved TO PUBLIC;
SELECT tests.authenticate_as('adam');
SELECT results_eq(format('SELECT to_jsonb(p) FROM api.approve_payout(%L, ''a1'') AS p', tests.id('p1')), 'SELECT to_jsonb(p) FROM p1_approved AS p',
                  'approve_payout replay: returns the original result');
SELECT * FROM tests.rejects(format('SELECT api.approve_payout(%L, ''a1'')', tests.id('pete1')), 'LP106',
                            'approve_payout replay: the same key for another payout is LP106');
SELECT * FROM tests.rejects(format('SELECT api.approve_payout(%L, ''a1-again'')', tests.id('p1')), 'LP004',
                            'approve_payout: approving twice is LP004');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format('SELECT api.cancel_payout(%L, ''c0'')', tests.id('p1')), 'LP004',
                            'cancel_payout: an approved payout cannot be cancelled (LP004)');

SELECT tests.service();
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, '' '', ''m1'')', tests.id('p1')), 'LP018',
                            'mark_payout_paid: a blank provider reference is LP018');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, repeat(''r'', 256), ''m1'')', tests.id('p1')), 'LP018',
                            'mark_payout_paid: a provider reference over 255 characters is LP018');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, ''bank-1'', ''m1'')', gen_random_uuid()), 'LP003',
                            'mark_payout_paid: an unknown payout is LP003');
SELECT results_eq(format('SELECT id, status::text, provider_reference, paid_at, reviewed_by FROM api.mark_payout_paid(%L, '' bank-tx-1 '', ''m1'')', tests.id('p1')),
                  format($$VALUES (%L::uuid, 'paid', 'bank-tx-1', now(), %L::uuid)$$, tests.id('p1'), tests.user_id('adam')),
                  'mark_payout_paid: the service role records the payment (reference trimmed, paid_at set)');
SELECT tests.clear_authentication();
SELECT is(tests.total('pia'), 40000::bigint, 'paid: pia unchanged');
SELECT is(tests.sys('payout_clearing'), 6000::bigint, 'paid: clearing -20000 (pete''s 6000 remain)');
SELECT is(tests.sys('issuance'), -216000::bigint, 'paid: issuance +20000: the tokens left circulation');
SELECT is(tests.payable('pia'), 20000::bigint, 'paid: a paid payout keeps its tokens taken (pia: 40000 earned - 20000 paid)');
SELECT results_eq(format('SELECT * FROM tests.payout_entries(%L)', tests.id('p1')),
                  $$VALUES ('payout', 'pia', true, -20000::bigint), ('payout', 'payout_clearing', false, 20000::bigint),
                           ('payout_paid', 'payout_clearing', false, -20000::bigint), ('payout_paid', 'issuance', false, 20000::bigint)$$,
                  'paid: clearing -20000, issuance +20000');
SELECT is(tests.audits('payout.paid', tests.id('p1')), 1::bigint, 'paid: audited as payout.paid');
CREATE TEMP TABLE p1_paid ON COMMIT DROP AS SELECT * FROM lp.payouts WHERE id = tests.id('p1');
GRANT SELECT ON p1_paid TO PUBLIC;
SELECT tests.service();
SELECT results_eq(format('SELECT to_jsonb(p) FROM api.mark_payout_paid(%L, ''bank-tx-1'', ''m1'') AS p', tests.id('p1')),
                  'SELECT to_jsonb(p) FROM p1_paid AS p', 'mark_payout_paid replay: returns the original result');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, ''bank-tx-2'', ''m1'')', tests.id('p1')), 'LP106',
                            'mark_payout_paid replay: the same key with another reference is LP106');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, ''bank-tx-1'', ''m1-again'')', tests.id('p1')), 'LP004',
                            'mark_payout_paid: paying twice is LP004');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_failed(%L, ''bounced'', ''f-paid'')', tests.id('p1')), 'LP004',
                            'mark_payout_failed: a paid payout is LP004');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.reject_payout(%L, ''late'', ''r-paid'')', tests.id('p1')), 'LP004',
                            'reject_payout: a paid payout is LP004');
SELECT tests.authenticate_as('pia');
SELECT results_eq($$SELECT id, status::text FROM api.request_payout(20000, 'bank_transfer', 'k1')$$,
                  format($$VALUES (%L::uuid, 'paid')$$, tests.id('p1')),
                  'request_payout replay after the payout moved on: the same payout, as it is now');

-- == request -> reject (p2), at another conversion rate ===================================================
SELECT tests.clear_authentication();
UPDATE lp.wallets SET tokens_per_unit = 30 WHERE id = tests.wallet('pia');
SELECT tests.authenticate_as('pia');
SELECT results_eq($$SELECT tokens, tokens_per_unit, amount_minor, method::text FROM api.request_payout(5002, 'paypal', 'k2')$$,
                  $$VALUES (5002::bigint, 30, 16673::bigint, 'paypal')$$,
                  'request_payout: the wallet''s rate is recorded; 5002 tokens at 30 per USD = 166.7333 USD, rounded down to 16673 cents');
SELECT tests.clear_authentication();
UPDATE lp.wallets SET tokens_per_unit = 100 WHERE id = tests.wallet('pia');
SELECT tests.remember('p2', (SELECT id FROM lp.payouts WHERE user_id = tests.user_id('pia') AND idempotency_key = 'k2'));
SELECT is(tests.total('pia'), 34998::bigint, 'request: pia 40000 - 5002');
SELECT is(tests.sys('payout_clearing'), 11002::bigint, 'request: clearing 6000 + 5002');
SELECT is(tests.payable('pia'), 14998::bigint, 'request: a pending payout lowers payable further (40000 earned - 20000 paid - 5002)');

SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.reject_payout(%L, '''', ''r1'')', tests.id('p2')), 'LP018', 'reject_payout: an empty reason is LP018');
SELECT * FROM tests.rejects(format('SELECT api.reject_payout(%L, repeat(''x'', 1001), ''r1'')', tests.id('p2')), 'LP018',
                            'reject_payout: a reason over 1000 characters is LP018');
SELECT * FROM tests.rejects(format('SELECT api.reject_payout(%L, ''no'', NULL)', tests.id('p2')), 'LP018', 'reject_payout: a NULL key is LP018');
SELECT * FROM tests.rejects(format('SELECT api.reject_payout(%L, ''no'', ''r1'')', gen_random_uuid()), 'LP003', 'reject_payout: an unknown payout is LP003');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format('SELECT api.reject_payout(%L, ''no'', ''r1'')', tests.id('p2')), 'LP002', 'reject_payout: a performer is LP002');
SELECT tests.service();
SELECT * FROM tests.rejects(format('SELECT api.reject_payout(%L, ''no'', ''r1'')', tests.id('p2')), 'LP001',
                            'reject_payout: the service role with nobody acting is LP001');
SELECT tests.authenticate_as('adam');
SELECT results_eq(format('SELECT id, status::text, rejection_reason, reviewed_by, reviewed_at FROM api.reject_payout(%L, '' payee name mismatch '', ''r1'')', tests.id('p2')),
                  format($$VALUES (%L::uuid, 'rejected', 'payee name mismatch', %L::uuid, now())$$, tests.id('p2'), tests.user_id('adam')),
                  'reject_payout: an admin rejects a requested payout with a reason');
SELECT tests.clear_authentication();
SELECT is(tests.total('pia'), 40000::bigint, 'reject: the 5002 tokens are back with pia');
SELECT is(tests.main('pia'), 34998::bigint, 'reject: the return is a credit and landed on a shard, not the main balance');
SELECT is(tests.sys('payout_clearing'), 6000::bigint, 'reject: clearing -5002');
SELECT is(tests.sys('issuance'), -216000::bigint, 'reject: issuance unchanged');
SELECT is(tests.payable('pia'), 20000::bigint, 'reject: a rejected payout gives its tokens back to payable');
SELECT results_eq(format('SELECT * FROM tests.payout_entries(%L)', tests.id('p2')),
                  $$VALUES ('payout', 'pia', true, -5002::bigint), ('payout', 'payout_clearing', false, 5002::bigint),
                           ('payout_return', 'payout_clearing', false, -5002::bigint), ('payout_return', 'pia', false, 5002::bigint)$$,
                  'reject: one payout_return transaction, clearing -5002, pia +5002');
SELECT is(tests.audits('payout.reject', tests.id('p2')), 1::bigint, 'reject: audited as payout.reject');
CREATE TEMP TABLE p2_rejected ON COMMIT DROP AS SELECT * FROM lp.payouts WHERE id = tests.id('p2');
GRANT SELECT ON p2_rejected TO PUBLIC;
SELECT tests.authenticate_as('adam');
SELECT results_eq(format('SELECT to_jsonb(p) FROM api.reject_payout(%L, ''payee name mismatch'', ''r1'') AS p', tests.id('p2')),
                  'SELECT to_jsonb(p) FROM p2_rejected AS p', 'reject_payout replay: returns the original result');
SELECT * FROM tests.rejects(format('SELECT api.reject_payout(%L, ''other reason'', ''r1'')', tests.id('p2')), 'LP106',
                            'reject_payout replay: the same key with another reason is LP106');
SELECT * FROM tests.rejects(format('SELECT api.reject_payout(%L, ''again'', ''r1-again'')', tests.id('p2')), 'LP004',
                            'reject_payout: rejecting twice is LP004');
SELECT * FROM tests.rejects(format('SELECT api.approve_payout(%L, ''a2'')', tests.id('p2')), 'LP004', 'approve_payout: a rejected payout is LP004');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format('SELECT api.cancel_payout(%L, ''c2'')', tests.id('p2')), 'LP004', 'cancel_payout: a rejected payout is LP004');

-- == request -> approve -> failed (p3) =====================================================================
SELECT tests.authenticate_as('pia');
SELECT lives_ok($$SELECT api.request_payout(6000, 'wire', 'k3')$$, 'request_payout: pia requests 6000 by wire');
SELECT tests.clear_authentication();
SELECT tests.remember('p3', (SELECT id FROM lp.payouts WHERE user_id = tests.user_id('pia') AND idempotency_key = 'k3'));
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format('SELECT api.approve_payout(%L, ''a3'')', tests.id('p3')), 'approve_payout: p3 approved');
SELECT tests.clear_authentication();
SELECT is(tests.total('pia'), 34000::bigint, 'approved p3: pia 40000 - 6000');
SELECT is(tests.sys('payout_clearing'), 12000::bigint, 'approved p3: clearing 6000 + 6000');
SELECT is(tests.payable('pia'), 14000::bigint, 'approved p3: payable 20000 - 6000');
SELECT tests.service();
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_failed(%L, NULL, ''f1'')', tests.id('p3')), 'LP018', 'mark_payout_failed: a missing reason is LP018');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_failed(%L, ''bounced'', ''f1'')', gen_random_uuid()), 'LP003', 'mark_payout_failed: an unknown payout is LP003');
SELECT results_eq(format('SELECT id, status::text, failure_reason, paid_at FROM api.mark_payout_failed(%L, ''account closed'', ''f1'')', tests.id('p3')),
                  format($$VALUES (%L::uuid, 'failed', 'account closed', NULL::timestamptz)$$, tests.id('p3')),
                  'mark_payout_failed: the service role records a failed payment');
SELECT tests.clear_authentication();
SELECT is(tests.total('pia'), 40000::bigint, 'failed: the 6000 tokens are back with pia');
SELECT is(tests.sys('payout_clearing'), 6000::bigint, 'failed: clearing -6000');
SELECT is(tests.sys('issuance'), -216000::bigint, 'failed: issuance unchanged');
SELECT is(tests.payable('pia'), 20000::bigint, 'failed: a failed payout gives its tokens back to payable');
SELECT results_eq(format('SELECT * FROM tests.payout_entries(%L)', tests.id('p3')),
                  $$VALUES ('payout', 'pia', true, -6000::bigint), ('payout', 'payout_clearing', false, 6000::bigint),
                           ('payout_return', 'payout_clearing', false, -6000::bigint), ('payout_return', 'pia', false, 6000::bigint)$$,
                  'failed: one payout_return transaction, clearing -6000, pia +6000');
SELECT is(tests.audits('payout.failed', tests.id('p3')), 1::bigint, 'failed: audited as payout.failed');
CREATE TEMP TABLE p3_failed ON COMMIT DROP AS SELECT * FROM lp.payouts WHERE id = tests.id('p3');
GRANT SELECT ON p3_failed TO PUBLIC;
SELECT tests.service();
SELECT results_eq(format('SELECT to_jsonb(p) FROM api.mark_payout_failed(%L, ''account closed'', ''f1'') AS p', tests.id('p3')),
                  'SELECT to_jsonb(p) FROM p3_failed AS p', 'mark_payout_failed replay: returns the original result');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_failed(%L, ''other'', ''f1'')', tests.id('p3')), 'LP106',
                            'mark_payout_failed replay: the same key with another reason is LP106');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_failed(%L, ''account closed'', ''f1-again'')', tests.id('p3')), 'LP004',
                            'mark_payout_failed: failing twice is LP004');
SELECT * FROM tests.rejects(format('SELECT api.mark_payout_paid(%L, ''bank-3'', ''m3'')', tests.id('p3')), 'LP004',
                            'mark_payout_paid: a failed payout is LP004');

-- == request -> approve -> reject (p5): an approved payout can still be rejected ============================
SELECT tests.authenticate_as('pia');
SELECT lives_ok($$SELECT api.request_payout(5000, 'check', 'k5')$$, 'request_payout: pia requests 5000 by check');
SELECT tests.clear_authentication();
SELECT tests.remember('p5', (SELECT id FROM lp.payouts WHERE user_id = tests.user_id('pia') AND idempotency_key = 'k5'));
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format('SELECT api.approve_payout(%L, ''a5'')', tests.id('p5')), 'approve_payout: p5 approved by adam');
SELECT tests.authenticate_as('ada');
SELECT results_eq(format('SELECT status::text, reviewed_by FROM api.reject_payout(%L, ''fraud suspected'', ''r5'')', tests.id('p5')),
                  format($$VALUES ('rejected', %L::uuid)$$, tests.user_id('ada')), 'reject_payout: another admin rejects the approved payout');
SELECT tests.clear_authentication();
SELECT is(tests.total('pia'), 40000::bigint, 'rejected after approval: the 5000 tokens are back with pia');
SELECT is(tests.sys('payout_clearing'), 6000::bigint, 'rejected after approval: clearing back to pete''s 6000');
SELECT is(tests.payable('pia'), 20000::bigint, 'rejected after approval: payable back to 20000');

-- == request -> cancel by the performer (p4) ===============================================================
SELECT tests.authenticate_as('pia');
SELECT lives_ok($$SELECT api.request_payout(5000, 'check', 'k4')$$, 'request_payout: pia requests 5000 by check');
SELECT * FROM tests.rejects($$SELECT api.request_payout(15001, 'check', 'k4-more')$$, 'LP112',
                            'request_payout: with 20000 paid and 5000 pending, 15001 is LP112 (35000 available, 40000 earned)');
SELECT tests.clear_authentication();
SELECT tests.remember('p4', (SELECT id FROM lp.payouts WHERE user_id = tests.user_id('pia') AND idempotency_key = 'k4'));
SELECT is(tests.payable('pia'), 15000::bigint, 'requested p4: payable 20000 - 5000');
SELECT tests.authenticate_as('pete');
SELECT * FROM tests.rejects(format('SELECT api.cancel_payout(%L, ''c1'')', tests.id('p4')), 'LP003', 'cancel_payout: another user''s payout is LP003');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.cancel_payout(%L, ''c1'')', tests.id('p4')), 'LP003',
                            'cancel_payout: also for an admin (only the performer cancels; admins reject)');
SELECT tests.authenticate_as(NULL);
SELECT * FROM tests.rejects(format('SELECT api.cancel_payout(%L, ''c1'')', tests.id('p4')), 'LP001', 'cancel_payout: nobody acting is LP001');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format('SELECT api.cancel_payout(%L, ''c1'')', gen_random_uuid()), 'LP003', 'cancel_payout: an unknown payout is LP003');
SELECT results_eq(format('SELECT id, status::text FROM api.cancel_payout(%L, ''c1'')', tests.id('p4')),
                  format($$VALUES (%L::uuid, 'cancelled')$$, tests.id('p4')), 'cancel_payout: pia withdraws her requested payout');
SELECT tests.clear_authentication();
SELECT is(tests.total('pia'), 40000::bigint, 'cancel: the 5000 tokens are back with pia');
SELECT is(tests.sys('payout_clearing'), 6000::bigint, 'cancel: clearing -5000');
SELECT is(tests.payable('pia'), 20000::bigint, 'cancel: a cancelled payout gives its tokens back to payable');
SELECT is(tests.audits('payout.cancel', tests.id('p4')), 1::bigint, 'cancel: audited as payout.cancel');
CREATE TEMP TABLE p4_cancelled ON COMMIT DROP AS SELECT * FROM lp.payouts WHERE id = tests.id('p4');
GRANT SELECT ON p4_cancelled TO PUBLIC;
SELECT tests.authenticate_as('pia');
SELECT results_eq(format('SELECT to_jsonb(p) FROM api.cancel_payout(%L, ''c1'') AS p', tests.id('p4')), 'SELECT to_jsonb(p) FROM p4_cancelled AS p',
                  'cancel_payout replay: returns the original result');
SELECT * FROM tests.rejects(format('SELECT api.cancel_payout(%L, ''c1'')', tests.id('p3')), 'LP106',
                            'cancel_payout replay: the same key for another payout is LP106');
SELECT * FROM tests.rejects(format('SELECT api.cancel_payout(%L, ''c1-again'')', tests.id('p4')), 'LP004', 'cancel_payout: cancelling twice is LP004');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.approve_payout(%L, ''a4'')', tests.id('p4')), 'LP004', 'approve_payout: a cancelled payout is LP004');

-- == admins never review their own payout ==================================================================
SELECT tests.clear_authentication();
SELECT is(tests.payable('paula'), 8000::bigint, 'payable: with payouts.hold_days 0 paula''s fresh 8000 earnings are payable');
SELECT tests.authenticate_as('paula');
SELECT lives_ok($$SELECT api.request_payout(6000, 'paypal', 'k1')$$, 'request_payout: paula (a performer) requests 6000 of her 8000 earnings');
SELECT tests.clear_authentication();
SELECT tests.remember('paula1', (SELECT id FROM lp.payouts WHERE user_id = tests.user_id('paula')));
UPDATE lp.users SET role = 'admin' WHERE id = tests.user_id('paula');
SELECT tests.authenticate_as('paula');
SELECT * FROM tests.rejects(format('SELECT api.approve_payout(%L, ''a-own'')', tests.id('paula1')), 'LP002',
                            'approve_payout: an admin approving their own payout is LP002');
SELECT * FROM tests.rejects(format('SELECT api.reject_payout(%L, ''mine'', ''r-own'')', tests.id('paula1')), 'LP002',
                            'reject_payout: an admin rejecting their own payout is LP002');
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.approve_payout(%L, ''a-paula'')', tests.id('paula1')), 'approve_payout: another admin approves it');

-- == api.list_payouts ======================================================================================
SELECT tests.authenticate_as('pia');
SELECT results_eq('SELECT id FROM api.list_payouts()',
                  $$SELECT id FROM tests.ids WHERE name IN ('p1', 'p2', 'p3', 'p4', 'p5') ORDER BY id DESC$$,
                  'list_payouts: pia''s own payouts, newest first (same time: by id)');
SELECT results_eq($$SELECT id FROM api.list_payouts(NULL, 'paid')$$, format('VALUES (%L::uuid)', tests.id('p1')),
                  'list_payouts: filtered by status');
SELECT results_eq(format('SELECT id FROM api.list_payouts(NULL, NULL, %L, 2)',
                         (SELECT id FROM tests.ids WHERE name IN ('p1', 'p2', 'p3', 'p4', 'p5') ORDER BY id DESC LIMIT 1 OFFSET 1)),
                  $$SELECT id FROM tests.ids WHERE name IN ('p1', 'p2', 'p3', 'p4', 'p5') ORDER BY id DESC LIMIT 2 OFFSET 2$$,
                  'list_payouts: keyset pagination continues after the cursor');
SELECT throws_ok(format('SELECT * FROM api.list_payouts(%L)', tests.user_id('pete')), 'LP002', NULL,
                 'list_payouts: another user''s payouts are LP002');
SELECT throws_ok($$SELECT * FROM api.list_payouts(NULL, 'pending')$$, 'LP018', NULL, 'list_payouts: an unknown status is LP018');
SELECT throws_ok('SELECT * FROM api.list_payouts(NULL, NULL, NULL, 0)', 'LP018', NULL, 'list_payouts: a limit of 0 is LP018');
SELECT throws_ok('SELECT * FROM api.list_payouts(NULL, NULL, NULL, 1001)', 'LP018', NULL, 'list_payouts: a limit over 1000 is LP018');
SELECT throws_ok(format('SELECT * FROM api.list_payouts(NULL, NULL, %L)', tests.id('pete1')), 'LP018', NULL,
                 'list_payouts: another user''s payout as cursor is LP018 (unknown)');
SELECT tests.authenticate_as('pete');
SELECT results_eq('SELECT id FROM api.list_payouts()', format('VALUES (%L::uuid)', tests.id('pete1')), 'list_payouts: pete sees only his');
SELECT tests.authenticate_as('adam');
SELECT is((SELECT count(*) FROM api.list_payouts(tests.user_id('pia'))), 5::bigint, 'list_payouts: an admin lists a user''s payouts');
SELECT results_eq($$SELECT id FROM api.list_payouts(NULL, 'requested')$$, format('VALUES (%L::uuid)', tests.id('pete1')),
                  'list_payouts: an admin lists everyone''s requested payouts (the review queue)');
SELECT results_eq($$SELECT id FROM api.list_payouts(NULL, 'approved')$$, format('VALUES (%L::uuid)', tests.id('paula1')),
                  'list_payouts: and the approved ones awaiting payment');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok('SELECT * FROM api.list_payouts()', 'LP001', NULL, 'list_payouts: nobody acting is LP001');

-- == spending consumes earnings first (payouts.hold_days 0) =================================================
-- pia: 40000 tokens (20000 bought, 40000 earned, 20000 of them paid out): payable min(40000, 20000) = 20000.
SELECT tests.clear_authentication();
SELECT is(tests.payable('pia'), 20000::bigint, 'spending: pia starts with 40000 tokens, 20000 payable');
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format('SELECT api.tip(%L, 15000, ''spend-1'')', tests.user_id('pete')), 'spending: pia tips pete 15000');
SELECT tests.clear_authentication();
SELECT is(tests.total('pia'), 25000::bigint, 'spending: pia 40000 - 15000');
SELECT is(tests.payable('pia'), 5000::bigint,
          'spending: spending consumes earnings first: 20000 unpaid earnings - 15000 spent = 5000 payable');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects($$SELECT api.request_payout(5001, 'paypal', 'k6')$$, 'LP112', 'spending: a payout of 5001 is LP112');
SELECT results_eq($$SELECT tokens, status::text FROM api.request_payout(5000, 'paypal', 'k6')$$, $$VALUES (5000::bigint, 'requested')$$,
                  'spending: a payout of the 5000 payable tokens is accepted');
SELECT tests.clear_authentication();
SELECT is(tests.total('pia'), 20000::bigint, 'spending: pia 25000 - 5000');
SELECT is(tests.payable('pia'), 0::bigint, 'spending: nothing payable: the 20000 left are bought tokens');
SELECT tests.authenticate_as('pia');
SELECT lives_ok(format('SELECT api.tip(%L, 10000, ''spend-2'')', tests.user_id('pete')), 'spending: pia tips pete another 10000');
SELECT tests.clear_authentication();
SELECT is(tests.total('pia'), 10000::bigint, 'spending: pia 20000 - 10000');
SELECT is(tests.payable('pia'), 0::bigint, 'spending: still nothing payable');
SELECT is(tests.payable('pete'), 22000::bigint,
          'spending: pia''s tips are pete''s earnings (8000 + 12000 + 8000 - 6000 taken; his 6000 bought tokens never)');

-- == privileges ============================================================================================
SELECT tests.authenticate_as('pia');
SELECT throws_ok(format('SELECT lp.payable_tokens(%L)', tests.wallet('pia')), '42501', NULL,
                 'lp.payable_tokens is not executable by the application role');

-- == the ledger stays whole ================================================================================
SELECT tests.clear_authentication();
SELECT is(tests.total('pia'), 10000::bigint, 'end: pia 10000 (bought tokens, never payable)');
SELECT is(tests.total('pete'), 28000::bigint, 'end: pete 28000 (8000 + 20000 from pia''s tips)');
SELECT is(tests.total('bob'), 10000::bigint, 'end: bob still holds the 10000 tokens he bought');
SELECT is(tests.total('paula'), 2000::bigint, 'end: paula 2000');
SELECT is(tests.sys('payout_clearing'), (SELECT sum(tokens)::bigint FROM lp.payouts WHERE status IN ('requested', 'approved')),
          'end: payout clearing holds exactly the tokens of the requested and approved payouts (17000)');
SELECT is(tests.sys('payout_clearing'), 17000::bigint, 'end: payout clearing 17000 (pete 6000, paula 6000, pia 5000)');
SELECT is(tests.sys('issuance'), -216000::bigint, 'end: issuance -236000 sold + 20000 paid out');
SELECT is((SELECT sum(balance) FROM lp.wallets) + (SELECT sum(balance) FROM lp.wallet_shards), 0::numeric,
          'end: every balance (main and shards, users and system) sums to zero');
SELECT is_empty('SELECT transaction_id FROM lp.ledger GROUP BY transaction_id HAVING sum(amount) <> 0',
                'end: every ledger transaction sums to zero');
SELECT is_empty($$SELECT l.wallet_id, l.shard FROM lp.ledger AS l
                   GROUP BY l.wallet_id, l.shard
                  HAVING sum(l.amount) <> coalesce((SELECT s.balance FROM lp.wallet_shards AS s WHERE s.wallet_id = l.wallet_id AND s.shard = l.shard),
                                                   (SELECT w.balance FROM lp.wallets AS w WHERE w.id = l.wallet_id AND l.shard = 0))$$,
                'end: every account''s balance equals the sum of its entries');

SELECT * FROM finish();
ROLLBACK;
