-- One writer: the posting family (lp.post, its set-based sibling lp.post_batch, lp.move_main; the rules lp.debt_since and lp.may_move) is the only code that writes a balance, reserved
-- tokens, debt_since, a credit shard or the ledger. A catalog scan over every function body of every schema the
-- project owns, so a function added later that writes money state directly fails here.
BEGIN;
SELECT plan(28);
-- Calls of PL/pgSQL functions counted (before any is planned: a call site planned without counting never counts).
SET LOCAL track_functions = 'pl';

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
$$, $$ VALUES ('lp.move_main(uuid[],bigint[],bigint[],boolean)'), ('lp.post(uuid,text,uuid,lp.posting[],text,uuid,boolean)'),
              ('lp.ensure_wallet_shards(uuid)') $$,
    'only lp.move_main and lp.post (its single-statement transaction) update a main balance (lp.ensure_wallet_shards only raises shard_count)');
SELECT is_empty($$
    SELECT w.fn FROM writers AS w
     WHERE w.src ~ 'update\s+lp\.wallets\M' AND w.src ~ '\m(balance|reserved|debt_since)\s*='
       AND NOT (w.src ~ '\mdebt_since\s*=\s*lp\.debt_since\(' AND w.src ~ '\mlp\.may_move\(')
$$, 'every write of a main balance takes the debt rule from lp.debt_since and the balance check from lp.may_move');
SELECT is_empty($$
    SELECT w.fn FROM writers AS w
     WHERE w.src ~ 'case\s+when[^<]*<\s*\S*reserved'
       AND w.fn <> 'lp.debt_since(bigint,bigint,timestamp with time zone)'
$$, 'the debt rule is written once, in lp.debt_since');
SELECT is_empty($$
    SELECT w.fn FROM writers AS w
     WHERE w.src ~ 'balance\s*\+\s*\S+\s*>=\s*\S*reserved'
       AND w.fn <> 'lp.may_move(bigint,bigint,bigint,bigint,boolean)'
$$, 'the balance check is written once, in lp.may_move');
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

-- lp.post's single-statement transaction (one main balance, of a wallet without shards; every other leg a credit
-- shard of another wallet). Its rules are inlined, so they must stay inlinable SQL expressions (a STRICT
-- lp.debt_since would also return NULL for a wallet not yet in debt, and never record a debt).
SELECT is(ARRAY(SELECT format('%s %s %s %s %s', p.proname, l.lanname, p.proisstrict, p.proconfig IS NULL, p.prosecdef)
                  FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
                 WHERE p.oid IN ('lp.debt_since(bigint,bigint,timestamptz)'::regprocedure,
                                 'lp.may_move(bigint,bigint,bigint,bigint,boolean)'::regprocedure)
                 ORDER BY p.proname),
          ARRAY['debt_since sql f t f', 'may_move sql f t f'],
          'lp.debt_since and lp.may_move stay inlinable (SQL, not strict, no SET, not security definer)');
SELECT tests.create_user('onewriter_viewer');
SELECT tests.create_user('onewriter_performer', 'performer');
CREATE FUNCTION pg_temp.spend(p_amount bigint) RETURNS text
    LANGUAGE sql AS $$
    SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
                   ARRAY[ROW(tests.wallet('onewriter_viewer'), -p_amount, 'purchase', 0, false)::lp.posting,
                         ROW(lp.system_wallet('platform_fees'), p_amount, 'purchase', 0, false)::lp.posting])::text
$$;
SELECT lp.post(gen_random_uuid(), 'payment', gen_random_uuid(),
               ARRAY[ROW(lp.system_wallet('issuance'), -100, 'purchase', 0, false)::lp.posting,
                     ROW(tests.wallet('onewriter_viewer'), 100, 'purchase', 0, false)::lp.posting]);
SELECT throws_ok($$SELECT pg_temp.spend(101)$$, 'LP100', NULL,
                 'lp.post (one statement): a debit above the main balance is LP100');
SELECT is(pg_temp.spend(60), '0', 'lp.post (one statement): a covered debit is posted');
SELECT is(ARRAY(SELECT format('%s %s->%s', e.amount, e.balance_before, e.balance_after) FROM lp.ledger AS e
                 WHERE e.transaction_id = (SELECT l.transaction_id FROM lp.ledger AS l
                                            WHERE l.wallet_id = tests.wallet('onewriter_viewer')
                                            ORDER BY l.id DESC LIMIT 1)
                 ORDER BY e.amount),
          ARRAY['-60 100->40', format('60 %s->%s', s.balance - 60, s.balance)],
          'lp.post (one statement): each entry carries the exact before/after balance of its account')
  FROM lp.wallet_shards AS s
 WHERE s.wallet_id = lp.system_wallet('platform_fees')
   AND s.shard = (SELECT l.shard FROM lp.ledger AS l WHERE l.wallet_id = s.wallet_id ORDER BY l.id DESC LIMIT 1);
-- The single statement does run (lp.move_main, the phases' writer of a main balance, is not called), and a
-- debit it refuses is decided once more by it, under the row lock, and refused without the phases.
CREATE FUNCTION pg_temp.move_main_calls() RETURNS bigint
    LANGUAGE sql AS $$
    SELECT coalesce(pg_catalog.pg_stat_get_xact_function_calls('lp.move_main(uuid[],bigint[],bigint[],boolean)'::regprocedure), 0)
$$;
CREATE TEMPORARY TABLE calls_before AS SELECT pg_temp.move_main_calls() AS n;
SELECT is(pg_temp.spend(1), '0', 'lp.post (one statement): a covered debit of one token is posted');
SELECT is(pg_temp.move_main_calls(), (SELECT n FROM calls_before), 'lp.post: a viewer''s covered debit is the one statement (no lp.move_main)');
SELECT throws_ok($$SELECT pg_temp.spend(1000)$$, 'LP100', NULL, 'lp.post: a debit the statement refused is still LP100');
SELECT is(pg_temp.move_main_calls(), (SELECT n FROM calls_before),
          'lp.post: a debit the statement refused is decided by the statement again, under the row lock (no lp.move_main)');
-- Legs are taken in the lock protocol's order whatever the order given (user wallets first): the entries show it.
SELECT lp.post(gen_random_uuid(), 'payment', '00000000-0000-0000-0000-00000000c0de',
               ARRAY[ROW(lp.system_wallet('platform_fees'), 1, 'tip_fee', 0, false)::lp.posting,
                     ROW(tests.wallet('onewriter_performer'), 4, 'tip', 0, false)::lp.posting,
                     ROW(tests.wallet('onewriter_viewer'), -5, 'tip', 0, false)::lp.posting]);
SELECT is(ARRAY(SELECT format('%s %s', e.amount, e.shard > 0) FROM lp.ledger AS e
                 WHERE e.reference_id = '00000000-0000-0000-0000-00000000c0de' ORDER BY e.id),
          ARRAY['-5 f', '4 t', '1 t'],
          'lp.post: the legs are taken in the lock order (main balance, then user shards, then system shards)');
-- Two credits to one wallet in one transaction, a wallet of one shard: both land, each entry chained on the
-- shard (one statement would pick that shard for both legs and write it once).
SELECT tests.create_user('onewriter_single', 'performer');
DELETE FROM lp.wallet_shards WHERE wallet_id = tests.wallet('onewriter_single') AND shard > 1;
UPDATE lp.wallets SET shard_count = 1 WHERE id = tests.wallet('onewriter_single');
SELECT lp.post(gen_random_uuid(), 'payment', '00000000-0000-0000-0000-0000000d0b1e',
               ARRAY[ROW(tests.wallet('onewriter_viewer'), -10, 'tip', 0, false)::lp.posting,
                     ROW(tests.wallet('onewriter_single'), 6, 'tip', 0, false)::lp.posting,
                     ROW(tests.wallet('onewriter_single'), 3, 'tip', 0, false)::lp.posting,
                     ROW(lp.system_wallet('platform_fees'), 1, 'tip_fee', 0, false)::lp.posting]);
SELECT is(ARRAY(SELECT format('%s %s %s->%s', e.shard, e.amount, e.balance_before, e.balance_after) FROM lp.ledger AS e
                 WHERE e.reference_id = '00000000-0000-0000-0000-0000000d0b1e'
                   AND e.wallet_id = tests.wallet('onewriter_single') ORDER BY e.id),
          ARRAY['1 3 0->3', '1 6 3->9'], 'lp.post: two credits to a wallet of one shard both land, chained');
SELECT ok(tests.ledger_consistent(), 'lp.post: every account''s entries still chain from 0 to its balance');
DELETE FROM lp.wallet_shards WHERE wallet_id = lp.system_wallet('platform_fees');
SELECT throws_ok($$SELECT pg_temp.spend(10)$$, 'LP199', 'wallet shard missing',
                 'lp.post (one statement): a credit leg without a shard is LP199');

SELECT * FROM finish();
ROLLBACK;
