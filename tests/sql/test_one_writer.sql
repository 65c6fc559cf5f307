-- One writer: the posting family (lp.post, its set-based sibling lp.post_batch, lp.move_main) is the only code that writes a balance, reserved
-- tokens, debt_since, a credit shard or the ledger. A catalog scan over every function body of every schema the
-- project owns, so a function added later that writes money state directly fails here.
BEGIN;
SELECT plan(14);

CREATE TEMPORARY VIEW writers AS
SELECT p.oid::regprocedure::text AS fn, pg_catalog.lower(p.prosrc) AS src
  FROM pg_catalog.pg_proc AS p
 WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace, 'reporting'::regnamespace);

SELECT set_eq($$
    SELECT w.fn FROM writers AS w WHERE w.src ~ 'insert\s+into\s+lp\.ledger\M'
$$, $$ VALUES ('lp.post(uuid,text,uuid,lp.posting[],text,uuid,boolean)'),
              ('lp.post_batch(text,uuid[],uuid[],uuid[],bigint[],text[],boolean[])') $$,
    'only lp.post and lp.post_batch append to lp.ledger');
SELECT set_eq($$
    SELECT w.fn FROM writers AS w WHERE w.src ~ 'update\s+lp\.wallet_shards\M'
$$, $$ VALUES ('lp.post(uuid,text,uuid,lp.posting[],text,uuid,boolean)'),
              ('lp.post_batch(text,uuid[],uuid[],uuid[],bigint[],text[],boolean[])') $$,
    'only lp.post and lp.post_batch change a credit shard (credits and sweeps)');
SELECT set_eq($$
    SELECT w.fn FROM writers AS w WHERE w.src ~ 'update\s+lp\.wallets\M'
$$, $$ VALUES ('lp.move_main(uuid[],bigint[],bigint[],boolean)'), ('lp.ensure_wallet_shards(uuid)') $$,
    'only lp.move_main updates a main balance (lp.ensure_wallet_shards only raises shard_count)');
SELECT is_empty($$
    SELECT w.fn FROM writers AS w
     WHERE w.src ~ 'update\s+lp\.wallets\M' AND w.src ~ '\m(balance|reserved|debt_since)\s*='
       AND w.fn <> 'lp.move_main(uuid[],bigint[],bigint[],boolean)'
$$, 'the debt rule and the balance check are written once, in lp.move_main');
SELECT is_empty($$
    SELECT w.fn FROM writers AS w
     WHERE w.src ~ '(delete\s+from|truncate)\s+(table\s+)?lp\.(ledger|wallets|wallet_shards)\M'
$$, 'nothing deletes ledger entries, wallets or shards');

-- lp.post refuses a set of postings that is not one balanced transaction (LP199), whichever check finds it.
CREATE FUNCTION pg_temp.post(p_amounts bigint[]) RETURNS text
    LANGUAGE sql AS $$
    SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                   ARRAY(SELECT ROW(CASE WHEN k % 2 = 1 THEN lp.system_wallet('issuance')
                                         ELSE lp.system_wallet('platform_fees') END,
                                    p_amounts[k], 'purchase', 0, false)::lp.posting
                           FROM generate_subscripts(p_amounts, 1) AS k))::text
$$;
SELECT throws_ok($$SELECT pg_temp.post(ARRAY[-10, 9]::bigint[])$$, 'LP199', NULL, 'lp.post: postings that do not sum to 0 are LP199');
SELECT throws_ok($$SELECT pg_temp.post(ARRAY[-10, 10, 0]::bigint[])$$, 'LP199', NULL, 'lp.post: a posting of 0 tokens is LP199');
SELECT throws_ok($$SELECT pg_temp.post(ARRAY[-10, NULL, 10]::bigint[])$$, 'LP199', NULL, 'lp.post: a posting without an amount is LP199');
SELECT throws_ok($$SELECT pg_temp.post(ARRAY[10]::bigint[])$$, 'LP199', NULL, 'lp.post: a single posting is LP199');
SELECT is(pg_temp.post(ARRAY[-10, 10]::bigint[]), '0', 'lp.post: a balanced pair is posted');

-- lp.post_batch likewise refuses a leg that names no wallet, or one that does not exist, although its
-- transaction sums to 0 (the leg would otherwise be dropped: the other legs written, tokens lost).
CREATE FUNCTION pg_temp.post_batch(p_to uuid) RETURNS void
    LANGUAGE sql AS $$
    SELECT lp.post_batch('payment', ARRAY[t.tx, t.tx], ARRAY[t.ref, t.ref],
                         ARRAY[lp.system_wallet('issuance'), p_to], ARRAY[-10, 10]::bigint[],
                         ARRAY['purchase', 'purchase'], ARRAY[false, false])
      FROM (SELECT gen_random_uuid() AS tx, gen_random_uuid() AS ref) AS t
$$;
CREATE TEMPORARY TABLE entries_before AS SELECT count(*) AS n FROM lp.ledger;
SELECT throws_ok($$SELECT pg_temp.post_batch(NULL)$$, 'LP199', NULL, 'lp.post_batch: a leg without a wallet is LP199');
SELECT throws_ok($$SELECT pg_temp.post_batch(gen_random_uuid())$$, 'LP199', 'posting to an unknown wallet in a batch',
                 'lp.post_batch: a leg on a wallet that does not exist is LP199');
SELECT lives_ok($$SELECT pg_temp.post_batch(lp.system_wallet('platform_fees'))$$, 'lp.post_batch: a balanced pair is posted');
SELECT is((SELECT count(*) FROM lp.ledger) - (SELECT n FROM entries_before), 2::bigint,
          'lp.post_batch: only the balanced pair wrote entries');

SELECT * FROM finish();
ROLLBACK;
