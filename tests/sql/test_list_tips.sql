-- api.list_tips: own sent and received tips, keyset pagination, anonymous senders hidden from recipients.
BEGIN;
SELECT plan(12);

-- (Schema "tests" exists already: tests/conftest.py loads tests/sql/helpers/ into the template database.)
CREATE FUNCTION tests.user(p_name text, p_role text DEFAULT 'viewer') RETURNS uuid LANGUAGE sql AS $$
    SELECT (api.register_user(p_name || '@example.com', p_name, 'list tips pass 1', DATE '1990-01-01', p_role)).id
$$;
CREATE FUNCTION tests.fund(p_user uuid, p_tokens bigint) RETURNS void LANGUAGE sql AS $$
    SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                   ARRAY[ROW(lp.system_wallet('issuance'), -p_tokens, 'purchase', 0, false)::lp.posting,
                         ROW((SELECT id FROM lp.wallets WHERE user_id = p_user), p_tokens, 'purchase', 0, false)::lp.posting])
$$;
CREATE FUNCTION tests.act(p_user uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lp.set_identity(p_user, NULL, 'session');
    PERFORM set_config('role', 'livepanty_app', true);
END
$$;
CREATE TEMP TABLE people AS
SELECT tests.user('vera') AS vera, tests.user('victor') AS victor, tests.user('pia', 'performer') AS pia,
       (api.create_admin('adam@example.com', 'adam', 'list tips pass 1', DATE '1980-01-01')).id AS adam;
GRANT SELECT ON people TO PUBLIC;
SELECT tests.fund(vera, 1000), tests.fund(victor, 1000) FROM people;
SELECT tests.approve_kyc('pia');  -- the KYC gate of being paid
SELECT tests.act(vera) FROM people;
SELECT (api.tip((SELECT pia FROM people), 10 * n, 'vera-' || n, p_message => 'v' || n)).id FROM generate_series(1, 5) AS n;
RESET ROLE;
SELECT tests.act(victor) FROM people;
SELECT (api.tip((SELECT pia FROM people), 7, 'victor-1', p_message => 'secret', p_is_anonymous => true)).id;
RESET ROLE;

SELECT tests.act(vera) FROM people;
-- (All tips of one transaction share created_at: the order among them is by id, so compare sets.)
SELECT set_eq($$SELECT message FROM api.list_tips()$$, ARRAY['v5', 'v4', 'v3', 'v2', 'v1'],
              'a sender lists the tips they sent');
CREATE TEMP TABLE pages AS
WITH p1 AS (SELECT * FROM api.list_tips(p_limit => 2)),
     p2 AS (SELECT * FROM api.list_tips(p_after => (SELECT id FROM p1 ORDER BY created_at, id LIMIT 1), p_limit => 2))
SELECT 1 AS page, message FROM p1 UNION ALL SELECT 2, message FROM p2;
SELECT is((SELECT count(DISTINCT message) FROM pages), 4::bigint, 'two pages of two: four different tips');
SELECT is_empty($$SELECT message FROM pages GROUP BY message HAVING count(*) > 1$$, 'pages do not overlap');
SELECT is((SELECT sum(net_amount) FROM api.list_tips()), (SELECT sum(amount - fee_amount) FROM lp.tips WHERE message LIKE 'v%'),
          'net_amount is amount minus fee');
SELECT throws_ok($$SELECT * FROM api.list_tips(p_user_id => (SELECT victor FROM people))$$, 'LP002', NULL,
                 'another user''s tips are for admins only');
SELECT throws_ok($$SELECT * FROM api.list_tips(p_as => 'bystander')$$, 'LP018', NULL, 'p_as is sender or recipient');
SELECT throws_ok($$SELECT * FROM api.list_tips(p_limit => 0)$$, 'LP018', NULL, 'limit 1..1000');
RESET ROLE;

SELECT tests.act(pia) FROM people;
SELECT is((SELECT count(*) FROM api.list_tips(p_as => 'recipient')), 6::bigint, 'the performer lists every tip received');
SELECT ok((SELECT sender_id IS NULL AND message = 'secret' FROM api.list_tips(p_as => 'recipient') WHERE is_anonymous),
          'an anonymous tip''s sender is hidden from the recipient');
SELECT is((SELECT count(*) FROM api.list_tips(p_as => 'recipient') WHERE sender_id = (SELECT vera FROM people)), 5::bigint,
          'signed tips name their sender');
RESET ROLE;

SELECT tests.act(adam) FROM people;
SELECT is((SELECT sender_id FROM api.list_tips(p_as => 'recipient', p_user_id => (SELECT pia FROM people)) WHERE is_anonymous),
          (SELECT victor FROM people), 'admins see the sender of an anonymous tip');
RESET ROLE;
SELECT tests.act(victor) FROM people;
SELECT is((SELECT sender_id FROM api.list_tips() WHERE is_anonymous), (SELECT victor FROM people),
          'the anonymous sender sees themselves');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
