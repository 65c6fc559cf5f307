-- No erasure while money is in flight (docs/compliance.md): an open hold as its holder or as its payee, a
-- payout requested or approved, a pending payment each make api.erase_user refuse with LP170, its DETAIL naming
-- what is in flight, and nothing changes (no lp.erasures row, the user's data as it was). Once the money has
-- settled, the same erasure goes through.
BEGIN;
SELECT plan(17);

-- Helpers of this file:
--   tests.fund(username, n)            tokens bought, as a completed purchase posts them
--   tests.state()                      what a refused erasure must leave as it was
--   tests.refusal(username)            api.erase_user's SQLSTATE and DETAIL for the user, as the admin adam
--   tests.payout(username, status)     a payout of the user in that status (a row, as the payout functions leave it)
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(E'\n',
        (SELECT string_agg(concat_ws(',', u.id, u.email, u.username, u.deleted_at), ';' ORDER BY u.id) FROM lp.users AS u),
        (SELECT count(*) FROM lp.erasures),
        (SELECT string_agg(concat_ws(',', h.id, h.status), ';' ORDER BY h.id) FROM lp.holds AS h),
        (SELECT string_agg(concat_ws(',', p.id, p.status), ';' ORDER BY p.id) FROM lp.payouts AS p))
$$;
CREATE FUNCTION tests.refusal(p_username text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_detail text;
BEGIN
    PERFORM tests.authenticate_as('adam');
    BEGIN
        PERFORM api.erase_user(tests.user_id(p_username), 'asked by mail');
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
        PERFORM tests.clear_authentication();
        RETURN SQLSTATE || ': ' || coalesce(v_detail, '');
    END;
    PERFORM tests.clear_authentication();
    RETURN 'erased';
END
$$;
CREATE FUNCTION tests.payout(p_username text, p_status text) RETURNS uuid
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, method, status,
                            idempotency_key)
    SELECT tests.user_id(p_username), k.id, 100, 100, 100, 'bank_transfer', p_status::lp.payout_status,
           'po-' || p_status
      FROM lp.kyc_verifications AS k WHERE k.user_id = tests.user_id(p_username) LIMIT 1
    RETURNING id
$$;

SELECT tests.create_user('adam', 'admin');
SELECT tests.create_user('hal');                  -- holds tokens for pia
SELECT tests.create_user('pia', 'performer');     -- the payee of hal's hold
SELECT tests.create_user('rob', 'performer');     -- a payout requested
SELECT tests.create_user('amy', 'performer');     -- a payout approved
SELECT tests.create_user('pat');                  -- a pending payment
SELECT tests.fund('hal', 1000);
SELECT tests.authenticate_as('hal');
SELECT isnt((api.place_hold(tests.user_id('pia'), 100, 'h-1', 'tip')).id, NULL, 'hal reserves 100 tokens for pia');
SELECT tests.authenticate_as('pat');
SELECT isnt((api.create_payment('small', 'stripe', 'pay-pat-1')).id, NULL, 'pat starts a purchase');
SELECT tests.clear_authentication();
SELECT isnt(tests.payout('rob', 'requested'), NULL, 'rob has a payout requested');
SELECT isnt(tests.payout('amy', 'approved'), NULL, 'amy has a payout approved');

-- Each refused, naming what is in flight, nothing changed.
CREATE TEMP TABLE before AS SELECT tests.state() AS state;
SELECT is(tests.refusal('hal'), 'LP170: open holds', 'the holder of an open hold is not erased (LP170, open holds)');
SELECT is(tests.refusal('pia'), 'LP170: open holds', 'the payee of an open hold is not erased (LP170, open holds)');
SELECT is(tests.refusal('rob'), 'LP170: payouts in progress', 'a requested payout: LP170, payouts in progress');
SELECT is(tests.refusal('amy'), 'LP170: payouts in progress', 'an approved payout: LP170, payouts in progress');
SELECT is(tests.refusal('pat'), 'LP170: pending payments', 'a pending payment: LP170, pending payments');
SELECT is(tests.state(), (SELECT state FROM before), 'the refusals changed nothing: no erasure, every row as it was');

-- Settled, the same erasures go through.
SELECT tests.authenticate_as('hal');
SELECT is((api.release_hold(tests.hold_id('hal', 'h-1'), 'r-1')).status::text, 'released', 'hal''s hold is released');
SELECT tests.clear_authentication();
UPDATE lp.payouts SET status = 'cancelled' WHERE user_id IN (tests.user_id('rob'), tests.user_id('amy'));
UPDATE lp.payments SET status = 'failed' WHERE user_id = tests.user_id('pat');
SELECT is(tests.refusal('hal'), 'erased', 'hal is erased once his hold is released');
SELECT is(tests.refusal('pia'), 'erased', 'pia is erased once the hold for her is released');
SELECT is(tests.refusal('rob'), 'erased', 'rob is erased once his payout is over');
SELECT is(tests.refusal('amy'), 'erased', 'amy is erased once her payout is over');
SELECT is(tests.refusal('pat'), 'erased', 'pat is erased once her payment is over');
SELECT is((SELECT count(*)::integer FROM lp.erasures), 5, 'five erasures logged');

SELECT * FROM finish();
ROLLBACK;
