-- One writer: the posting family (lp.post, its set-based sibling lp.post_batch, lp.move_main; the rules lp.debt_since
-- and lp.may_move) is the only code that writes a balance, reserved tokens, debt_since, a credit shard or the ledger.
-- A catalog scan (tests/sql/helpers/30_catalog_scan.sql) over the body of every function and procedure the project
-- owns (every schema livepanty_owner owns: lp, api, reporting, monitoring, lp_partitions; a shard's schema shard:
-- tests/py/test_one_writer_shard.py), string literals included, so that a function added later fails here when it:
-- writes money state in a statement (INSERT, UPDATE, DELETE, MERGE, COPY, TRUNCATE on lp.ledger or a partition of
-- it, lp.wallets, lp.wallet_shards; however spelt), runs dynamic SQL (EXECUTE) that is not on the list below with
-- what it may touch, runs SQL text another way (COPY, query_to_xml, dblink, ...), or makes a view or rule through
-- which a statement could write money state. The probes at the end show that each kind of violation is found.
BEGIN;
SELECT plan(37);
-- Calls of PL/pgSQL functions counted (before any is planned: a call site planned without counting never counts).
SET LOCAL track_functions = 'pl';

-- Every statement that writes money state, by function (one row per statement).
CREATE TEMPORARY TABLE expected_money_writes (fn text, verb text, target text, why text);
INSERT INTO expected_money_writes VALUES
    ('lp.post(uuid,text,uuid,lp.posting[],text,uuid,boolean)', 'insert into', 'lp.ledger', 'the entries of the single-statement transaction'),
    ('lp.post(uuid,text,uuid,lp.posting[],text,uuid,boolean)', 'insert into', 'lp.ledger', 'the entries of the phases (every other transaction)'),
    ('lp.post(uuid,text,uuid,lp.posting[],text,uuid,boolean)', 'update', 'lp.wallet_shards', 'the credit shards of the single statement'),
    ('lp.post(uuid,text,uuid,lp.posting[],text,uuid,boolean)', 'update', 'lp.wallet_shards', 'a sweep: each shard taken debited to zero'),
    ('lp.post(uuid,text,uuid,lp.posting[],text,uuid,boolean)', 'update', 'lp.wallet_shards', 'a credit to a free shard (the phases)'),
    ('lp.post(uuid,text,uuid,lp.posting[],text,uuid,boolean)', 'update', 'lp.wallet_shards', 'a credit to a random shard when none is free'),
    ('lp.post(uuid,text,uuid,lp.posting[],text,uuid,boolean)', 'update', 'lp.wallets', 'the main balance of the single statement'),
    ('lp.post_batch(text,uuid[],uuid[],uuid[],bigint[],text[],boolean[])', 'insert into', 'lp.ledger', 'every entry of a batch'),
    ('lp.post_batch(text,uuid[],uuid[],uuid[],bigint[],text[],boolean[])', 'update', 'lp.wallet_shards', 'one credit shard per credited wallet'),
    ('lp.move_main(uuid[],bigint[],bigint[],boolean)', 'update', 'lp.wallets', 'the guarded update of main balances'),
    ('lp.ensure_wallet_shards(uuid)', 'update', 'lp.wallets', 'raises shard_count only (no balance column: checked below)'),
    ('lp.ensure_wallet_shards(uuid)', 'insert into', 'lp.wallet_shards', 'new empty shards (no balance column: checked below)'),
    ('lp.open_wallet(uuid)', 'insert into', 'lp.wallets', 'a new wallet at zero (no balance column: checked below)');
CREATE TEMPORARY VIEW unexpected_money_writes AS
    SELECT fn, verb, target FROM tests.money_writes()
    EXCEPT ALL SELECT fn, verb, target FROM expected_money_writes;
SELECT is_empty($$ SELECT * FROM unexpected_money_writes $$,
    'no function writes lp.ledger (or a partition), lp.wallets or lp.wallet_shards in a statement not listed, however spelt');
SELECT is_empty($$ SELECT fn, verb, target FROM expected_money_writes EXCEPT ALL SELECT * FROM tests.money_writes() $$,
    'every listed money write is still there (the list is exact)');
SELECT is_empty($$
    SELECT f.fn FROM tests.own_functions() AS f
     WHERE f.src ~ 'insert\s+into\s+lp\.wallet(s|_shards)\M(?!\s*\()'
        OR EXISTS (SELECT 1 FROM pg_catalog.regexp_matches(f.src, 'insert\s+into\s+lp\.wallet(?:s|_shards)\s*\(([^)]*)\)', 'g') AS m
                    WHERE m[1] ~ '\m(balance|reserved|debt_since)\M')
$$, 'a wallet or a shard is created at zero: no INSERT names a balance, reserved tokens or debt_since');
SELECT is_empty($$
    SELECT f.fn FROM tests.own_functions() AS f
     WHERE f.src ~ 'update\s+lp\.wallets\M' AND f.src ~ '\m(balance|reserved|debt_since)\s*='
       AND NOT (f.src ~ '\mdebt_since\s*=\s*lp\.debt_since\(' AND f.src ~ '\mlp\.may_move\(')
$$, 'every write of a main balance takes the debt rule from lp.debt_since and the balance check from lp.may_move');
SELECT is_empty($$
    SELECT f.fn FROM tests.own_functions() AS f
     WHERE f.src ~ 'case\s+when[^<]*<\s*\S*reserved'
       AND f.fn <> 'lp.debt_since(bigint,bigint,timestamp with time zone)'
$$, 'the debt rule is written once, in lp.debt_since');
SELECT is_empty($$
    SELECT f.fn FROM tests.own_functions() AS f
     WHERE f.src ~ 'balance\s*\+\s*\S+\s*>=\s*\S*reserved'
       AND f.fn <> 'lp.may_move(bigint,bigint,bigint,bigint,boolean)'
$$, 'the balance check is written once, in lp.may_move');

-- Dynamic SQL: every EXECUTE of the project's code, by the start of its statement (one row per EXECUTE), with
-- what it may touch. None writes a balance, a shard or a ledger entry of a transaction; the partition jobs
-- move or remove whole partitions of lp.ledger (and lp.audit_logs) under the lp.locks row ledger.partitions.
CREATE TEMPORARY TABLE expected_dynamic (fn text, statement text, touches text);
INSERT INTO expected_dynamic VALUES
    ('api.archive_detach(text,timestamp with time zone,text,text,bigint,text)', 'lock table %s in share mode',
     'the monthly partition to archive (keeps writers out while its digest is compared with the file)'),
    ('api.archive_detach(text,timestamp with time zone,text,text,bigint,text)', 'alter table %s detach partition %s',
     'detaches that partition, whose rows are verifiably in the archive file (count and content digest; the checkpoint keeps balances verifiable)'),
    ('api.archive_detach(text,timestamp with time zone,text,text,bigint,text)', 'drop table %s',
     'drops the detached partition: archived ledger or audit rows leave the database, no balance changes'),
    ('api.maintain_partitions(integer)', 'select array_agg(x.m order by x.m) from ( sel', 'reads the months waiting in a default partition'),
    ('api.partition_rows(text)', 'select row_to_json(t)::text from %s as t orde', 'reads a partition to archive'),
    ('api.restore_partition(uuid,text[])', 'create table %s (like %s including defaults i', 'a standalone copy of the archived partition (the rows call)'),
    ('api.restore_partition(uuid,text[])', 'create table %s (like %s including defaults i', 'the same (the final call, when no rows came)'),
    ('api.restore_partition(uuid,text[])', 'insert into %s select (json_populate_record(n',
     'writes archived rows back into that copy: not a balance change (no wallet or shard is written; attached only if count and digest are those archived, LP195)'),
    ('api.restore_partition(uuid,text[])', 'alter table %s attach partition %s for values', 'attaches the verified copy to lp.ledger or lp.audit_logs'),
    ('api.restore_partition(uuid,text[])', 'comment on table %s is %l', 'the restored partition''s comment'),
    ('lp.create_month_partition(regclass,timestamp with time zone)', 'lock table %s in access exclusive mode', 'the default partition, before its rows move'),
    ('lp.create_month_partition(regclass,timestamp with time zone)', 'create table %s (like %s including defaults i', 'the new monthly partition'),
    ('lp.create_month_partition(regclass,timestamp with time zone)', 'select exists (select from %s where %i >= $1', 'reads the default partition'),
    ('lp.create_month_partition(regclass,timestamp with time zone)', 'alter table %s disable trigger user', 'the default partition''s append-only triggers, for the move'),
    ('lp.create_month_partition(regclass,timestamp with time zone)', 'with m as (delete from %s where %i >= $1 and',
     'moves rows of the month from the default partition into the new one (same ids, same content): no balance changes'),
    ('lp.create_month_partition(regclass,timestamp with time zone)', 'alter table %s enable trigger user', 'the triggers back on'),
    ('lp.create_month_partition(regclass,timestamp with time zone)', 'alter table %s attach partition %s for values', 'attaches the new partition'),
    ('lp.create_month_partition(regclass,timestamp with time zone)', 'comment on table %s is %l', 'the new partition''s comment'),
    ('lp.grant_select(regclass,text[],text[])', 'revoke all on %s from %i', 'privileges on a table'),
    ('lp.grant_select(regclass,text[],text[])', 'grant select (%s) on %s to %i', 'privileges on a table'),
    ('lp.partition_digest(regclass)', 'select count(*), min(t.id), max(t.id), encode', 'reads a partition (its digest)'),
    ('lp.secure_partition(regclass)', 'alter table %s enable row level security', 'a partition''s security'),
    ('lp.secure_partition(regclass)', 'alter table %s force row level security', 'a partition''s security'),
    ('lp.secure_partition(regclass)', 'revoke all on %s from public', 'a partition''s privileges'),
    ('lp.secure_partition(regclass)', 'create policy "owner code only" on %s for all', 'a partition''s policy'),
    ('lp.secure_partition(regclass)', 'create trigger %i before truncate on %s for e', 'a partition''s no-truncate trigger'),
    ('monitoring.list_statements(integer)', 'select s.queryid, s.calls, s.total_exec_time', 'reads pg_stat_statements'),
    ('monitoring.statements_schema()', 'select 1 from %i.pg_stat_statements_info', 'reads pg_stat_statements_info');
CREATE TEMPORARY VIEW unexpected_dynamic AS
    SELECT fn, statement FROM tests.dynamic_statements()
    EXCEPT ALL SELECT fn, statement FROM expected_dynamic;
SELECT is_empty($$ SELECT * FROM unexpected_dynamic $$,
    'every dynamic statement (EXECUTE) is on the list with what it may touch');
SELECT is_empty($$ SELECT fn, statement FROM expected_dynamic EXCEPT ALL SELECT * FROM tests.dynamic_statements() $$,
    'every listed dynamic statement is still there (the list is exact)');
SELECT is_empty($$ SELECT * FROM tests.other_dynamic_sql() $$,
    'no function runs COPY or SQL text another way (query_to_xml and the like, ts_stat, dblink)');
SELECT is_empty($$ SELECT * FROM tests.writable_views() WHERE reaches_money OR why LIKE 'rule %' $$,
    'no rule on a relation of ours, and no view over money state that a statement could write through');
SELECT ok((SELECT array_agg(DISTINCT split_part(f.fn, '.', 1)) FROM tests.own_functions() AS f)
          @> ARRAY['lp', 'api', 'monitoring'], 'the scans read the functions of lp, api and monitoring');

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

-- Probes: a function of each kind the scans must find, made here (rolled back with the file); the queries of the
-- assertions above, run again, name exactly them.
CREATE FUNCTION lp.probe_dynamic(p_wallet uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE lp.wallets SET balance = balance + 1 WHERE id = %L', p_wallet);
END
$$;
CREATE FUNCTION lp.probe_built(p_sql text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE p_sql;
END
$$;
CREATE FUNCTION api.probe_spelt() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ONLY "lp"."wallet_shards" SET balance = 0 WHERE false;
    MERGE INTO lp.wallets AS w USING (SELECT 1 AS x) AS s ON false WHEN NOT MATCHED THEN DO NOTHING;
    INSERT INTO lp_partitions.ledger_default SELECT * FROM lp.ledger WHERE false;
    DELETE FROM lp.ledger WHERE false;
    INSERT INTO lp.wallets (kind, system_code, balance) VALUES ('system', 'probe', 100);
END
$$;
CREATE FUNCTION monitoring.probe_atomic() RETURNS void LANGUAGE sql
BEGIN ATOMIC
    UPDATE lp.wallets SET reserved = 0 WHERE false;
END;
CREATE FUNCTION lp.probe_copy() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    COPY lp.ledger FROM '/dev/null';
END
$$;
CREATE FUNCTION lp.probe_xml() RETURNS xml LANGUAGE sql AS $$ SELECT query_to_xml('SELECT 1', true, false, '') $$;
CREATE VIEW lp.probe_view AS SELECT w.id, w.balance FROM lp.wallets AS w;
CREATE RULE probe_rule AS ON INSERT TO lp.tips DO ALSO NOTIFY probe;
SELECT bag_eq($$ SELECT * FROM unexpected_money_writes $$,
              $$ VALUES ('lp.probe_dynamic(uuid)', 'update', 'lp.wallets'),
                        ('api.probe_spelt()', 'update', 'lp.wallet_shards'), ('api.probe_spelt()', 'merge into', 'lp.wallets'),
                        ('api.probe_spelt()', 'insert into', 'lp.ledger (a partition)'),
                        ('api.probe_spelt()', 'delete from', 'lp.ledger'), ('api.probe_spelt()', 'insert into', 'lp.wallets'),
                        ('monitoring.probe_atomic()', 'update', 'lp.wallets'), ('lp.probe_copy()', 'copy', 'lp.ledger') $$,
              'probes: a money write in a format string, quoted, ONLY, MERGE, a partition, DELETE, BEGIN ATOMIC, COPY are found');
SELECT is(ARRAY(SELECT f.fn FROM tests.own_functions() AS f
                 WHERE EXISTS (SELECT 1 FROM pg_catalog.regexp_matches(f.src, 'insert\s+into\s+lp\.wallet(?:s|_shards)\s*\(([^)]*)\)', 'g') AS m
                                WHERE m[1] ~ '\m(balance|reserved|debt_since)\M')),
          ARRAY['api.probe_spelt()'], 'probes: a wallet created with a balance is found');
SELECT bag_eq($$ SELECT * FROM unexpected_dynamic $$,
              $$ VALUES ('lp.probe_dynamic(uuid)', 'update lp.wallets set balance = balance + 1 w'),
                        ('lp.probe_built(text)', 'not a literal: p_sql') $$,
              'probes: EXECUTE format(''UPDATE lp.wallets ...'') and EXECUTE of a text built elsewhere are found');
SELECT set_eq($$ SELECT fn FROM tests.other_dynamic_sql() $$, ARRAY['lp.probe_copy()', 'lp.probe_xml()'],
              'probes: COPY and query_to_xml are found');
SELECT set_eq($$ SELECT relation, why FROM tests.writable_views() WHERE reaches_money OR why LIKE 'rule %' $$,
              $$ VALUES ('lp.probe_view', 'automatically updatable'), ('lp.tips', 'rule probe_rule') $$,
              'probes: an updatable view over lp.wallets and a rule are found');

SELECT * FROM finish();
ROLLBACK;
