-- Row level security, per platform role (viewer, performer, moderator, admin), for nobody acting, and for the
-- reporting role: allow and deny cases for every table that holds data, the two api views, and the
-- application role's direct writes to the money and audit tables (42501).
--
-- Fixture (made as the superuser; rows are labelled so a test can name exactly which ones a reader sees):
--   users  vera, victor (viewers), pia, paul (performers), mona (moderator), adam (admin)
--   streams  s1 pia public live, s2 pia private, s3 paul public but soft-deleted, s4 paul public scheduled
--   viewers  vera@s1, victor@s1, victor@s4
--   ledger   purchases p1 (vera 1000) and p2 (victor 500) from the issuance wallet; tips t1 vera->pia 100
--            (signed, fee 20) and t2 victor->pia 50 (anonymous, fee 10), both in s1
--   payments pay-vera, pay-victor; kyc kyc-pia (approved, webhook event ev1), kyc-vera (submitted, stage
--            name al1); payout payout-pia
--   reports  r1 (vera reports victor; her filing rf1), r2 (victor reports pia's s1); flag f1 on s1; sanction x1 (victor warned)
--   economy  hold h1 (vera for pia, capture c1), limit vera:daily, adjustment a1 (victor), bundle 'retired'
--            (inactive) beside the seeded ones, idempotency record ik1
--   sessions ua-<user> for vera, victor, pia, mona, adam; one reset token (victor)
BEGIN;
SELECT plan(213);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()

-- Helpers of this file: labels of the rows of an lp table the current role can see.
CREATE FUNCTION tests.username(p_id uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT u.username::text FROM lp.users AS u WHERE u.id = p_id
$$;
CREATE FUNCTION tests.stream_title(p_id uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT s.title FROM lp.streams AS s WHERE s.id = p_id
$$;
CREATE FUNCTION tests.wallet_owner(p_wallet_id uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce(tests.username(w.user_id), w.system_code) FROM lp.wallets AS w WHERE w.id = p_wallet_id
$$;
CREATE FUNCTION tests.labels(p_table text) RETURNS SETOF text
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT (%s)::text FROM lp.%I', CASE p_table
        WHEN 'users' THEN 'username'
        WHEN 'user_preferences' THEN 'tests.username(user_id)'
        WHEN 'auth_sessions' THEN 'user_agent'
        WHEN 'password_reset_tokens' THEN 'tests.username(user_id)'
        WHEN 'wallets' THEN 'coalesce(tests.username(user_id), system_code)'
        WHEN 'ledger' THEN 'description'
        WHEN 'tips' THEN 'message'
        WHEN 'payments' THEN 'provider_reference'
        WHEN 'payouts' THEN 'idempotency_key'
        WHEN 'streams' THEN 'title'
        WHEN 'stream_viewers' THEN 'tests.username(user_id) || ''@'' || tests.stream_title(stream_id)'
        WHEN 'stream_performers' THEN 'tests.username(performer_id) || ''@'' || tests.stream_title(stream_id)'
        WHEN 'stream_consents' THEN 'tests.username(performer_id) || ''@'' || tests.stream_title(stream_id)'
        WHEN 'stream_counters' THEN 'tests.stream_title(stream_id) || '':'' || shard'
        WHEN 'performer_blocks' THEN 'tests.username(performer_id) || '' blocks '' || tests.username(blocked_id)'
        WHEN 'stream_events' THEN 'tests.stream_title(stream_id) || '':'' || kind'
        WHEN 'stream_event_horizons' THEN 'tests.stream_title(stream_id)'
        WHEN 'kyc_verifications' THEN 'provider_reference'
        WHEN 'reports' THEN 'description'
        WHEN 'moderation_flags' THEN 'content_ref'
        WHEN 'report_filings' THEN 'description'
        WHEN 'user_sanctions' THEN 'reason'
        WHEN 'sanction_appeals' THEN 'statement'
        WHEN 'audit_logs' THEN 'id'
        WHEN 'settings' THEN 'key'
        WHEN 'wallet_shards' THEN 'tests.wallet_owner(wallet_id) || '':'' || shard'
        WHEN 'token_bundles' THEN 'code'
        WHEN 'holds' THEN 'idempotency_key'
        WHEN 'hold_captures' THEN 'idempotency_key'
        WHEN 'spending_limits' THEN 'tests.username(user_id) || '':'' || period'
        WHEN 'adjustments' THEN 'reason'
        WHEN 'idempotency_keys' THEN 'key'
        WHEN 'tip_menu_items' THEN 'name'
        WHEN 'tip_goals' THEN 'description'
        WHEN 'tip_goal_progress' THEN 'tokens'
        WHEN 'show_prices' THEN 'tests.username(performer_id) || '':'' || show_type'
        WHEN 'shows' THEN 'show_type || ''@'' || tests.stream_title(stream_id)'
        WHEN 'show_participants' THEN 'tests.username(user_id) || ''@'' || role'
        ELSE 'NULL' END, p_table);
END
$$;
-- Rows per lp table the current role can read (tables it has no SELECT privilege on are left out).
CREATE FUNCTION tests.row_counts() RETURNS TABLE (table_name text, n bigint)
    LANGUAGE plpgsql AS $$
DECLARE
    v_table regclass;
BEGIN
    FOR v_table, table_name IN
        SELECT c.oid, c.relname FROM pg_catalog.pg_class AS c
         WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname
    LOOP
        IF has_any_column_privilege(v_table, 'SELECT') THEN
            EXECUTE format('SELECT count(*) FROM %s', v_table) INTO n;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
-- The lp tables the current role can query without a 42501 (other errors count as not refused).
CREATE FUNCTION tests.tables_not_refused() RETURNS SETOF text
    LANGUAGE plpgsql AS $$
DECLARE
    v_table regclass;
BEGIN
    FOR v_table IN SELECT c.oid FROM pg_catalog.pg_class AS c
                    WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p')
    LOOP
        BEGIN
            EXECUTE format('SELECT 1 FROM %s LIMIT 1', v_table);
            RETURN NEXT v_table::text;
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;
        WHEN OTHERS THEN
            RETURN NEXT v_table::text || ' (' || SQLERRM || ')';
        END;
    END LOOP;
END
$$;
-- Rows per view of schema reporting, and every row of every one as text (all its columns).
CREATE FUNCTION tests.reporting_counts() RETURNS TABLE (view_name text, n bigint)
    LANGUAGE plpgsql AS $$
BEGIN
    FOR view_name IN SELECT c.relname FROM pg_catalog.pg_class AS c
                      WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind = 'v'
    LOOP
        EXECUTE format('SELECT count(*) FROM reporting.%I', view_name) INTO n;
        RETURN NEXT;
    END LOOP;
END
$$;
CREATE FUNCTION tests.reporting_rows() RETURNS TABLE (view_name text, row_text text)
    LANGUAGE plpgsql AS $$
DECLARE
    v_view name;
BEGIN
    FOR v_view IN SELECT c.relname FROM pg_catalog.pg_class AS c
                   WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind = 'v'
    LOOP
        RETURN QUERY EXECUTE format('SELECT %L::text, v::text FROM reporting.%I AS v', v_view, v_view);
    END LOOP;
END
$$;
-- One ledger entry that moves a wallet (by username or system code) and keeps its balance in step.
CREATE FUNCTION tests.post(p_tx uuid, p_wallet text, p_amount bigint, p_kind text, p_ref_type text, p_ref uuid,
                           p_label text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    v_wallet lp.wallets;
BEGIN
    SELECT w.* INTO STRICT v_wallet FROM lp.wallets AS w
     WHERE w.system_code = p_wallet OR w.user_id = tests.user_id(p_wallet);
    INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after, entry_kind,
                           reference_type, reference_id, description)
    VALUES (p_tx, v_wallet.id, p_amount, v_wallet.balance, v_wallet.balance + p_amount, p_kind, p_ref_type, p_ref,
            p_label);
    UPDATE lp.wallets SET balance = balance + p_amount WHERE id = v_wallet.id;
END
$$;

-- == Fixture ===============================================================================================
DO $$
DECLARE
    v_pay1 uuid := gen_random_uuid();
    v_pay2 uuid := gen_random_uuid();
    v_tip1 uuid := gen_random_uuid();
    v_tip2 uuid := gen_random_uuid();
    v_s1   uuid := gen_random_uuid();
    v_s4   uuid := gen_random_uuid();
    v_kyc  uuid := gen_random_uuid();
    v_hold uuid := gen_random_uuid();
    v_name text;
BEGIN
    PERFORM tests.create_user('vera');
    PERFORM tests.create_user('victor');
    PERFORM tests.create_user('pia', 'performer', p_verified => false);  -- her KYC row is made below
    PERFORM tests.create_user('paul', 'performer', p_verified => false);
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    FOREACH v_name IN ARRAY ARRAY['vera', 'victor', 'pia', 'mona', 'adam'] LOOP
        PERFORM api.login(v_name, tests.password(), NULL, 'ua-' || v_name);
    END LOOP;
    PERFORM api.request_password_reset('victor@example.com');

    INSERT INTO lp.payments (id, user_id, provider, provider_reference, tokens, amount_minor, status, idempotency_key, completed_at)
    VALUES (v_pay1, tests.user_id('vera'), 'stripe', 'pay-vera', 1000, 1000, 'completed', 'k-pay-vera', now()),
           (v_pay2, tests.user_id('victor'), 'stripe', 'pay-victor', 500, 500, 'completed', 'k-pay-victor', now());
    PERFORM tests.post(v_pay1, 'issuance', -1000, 'purchase', 'payment', v_pay1, 'p1:issuance');
    PERFORM tests.post(v_pay1, 'vera', 1000, 'purchase', 'payment', v_pay1, 'p1:vera');
    PERFORM tests.post(v_pay2, 'issuance', -500, 'purchase', 'payment', v_pay2, 'p2:issuance');
    PERFORM tests.post(v_pay2, 'victor', 500, 'purchase', 'payment', v_pay2, 'p2:victor');

    INSERT INTO lp.streams (id, host_id, title, status, visibility, started_at)
    VALUES (v_s1, tests.user_id('pia'), 's1', 'live', 'public', now());
    INSERT INTO lp.streams (host_id, title, status, visibility)
    VALUES (tests.user_id('pia'), 's2', 'scheduled', 'private');
    INSERT INTO lp.streams (host_id, title, status, visibility, started_at, ended_at, deleted_at)
    VALUES (tests.user_id('paul'), 's3', 'ended', 'public', now(), now(), now());
    INSERT INTO lp.streams (id, host_id, title, status, visibility)
    VALUES (v_s4, tests.user_id('paul'), 's4', 'scheduled', 'public');
    INSERT INTO lp.stream_performers (stream_id, performer_id) VALUES (v_s1, tests.user_id('paul'));
    INSERT INTO lp.stream_consents (stream_id, performer_id, ip_address) VALUES
        (v_s1, tests.user_id('pia'), '203.0.113.1'), (v_s1, tests.user_id('paul'), '203.0.113.2');
    INSERT INTO lp.stream_counters (stream_id, shard, current_viewers, unique_viewers) VALUES (v_s1, 1, 2, 2);
    INSERT INTO lp.performer_blocks (performer_id, blocked_id) VALUES (tests.user_id('paul'), tests.user_id('vera'));
    INSERT INTO lp.erasures (user_id, via, requested_by, reason) VALUES (gen_random_uuid(), 'admin', tests.user_id('adam'), 'e1');
    INSERT INTO lp.stream_events (stream_id, kind) VALUES (v_s1, 'stream_started');
    INSERT INTO lp.stream_event_horizons (stream_id, tx, id) VALUES (v_s4, '1', 1);
    INSERT INTO lp.stream_viewers (stream_id, user_id) VALUES
        (v_s1, tests.user_id('vera')), (v_s1, tests.user_id('victor')), (v_s4, tests.user_id('victor'));

    INSERT INTO lp.tips (id, sender_id, recipient_id, stream_id, amount, fee_amount, message, is_anonymous,
                         transaction_id, idempotency_key)
    VALUES (v_tip1, tests.user_id('vera'), tests.user_id('pia'), v_s1, 100, 20, 't1', false, v_tip1, 'k-t1'),
           (v_tip2, tests.user_id('victor'), tests.user_id('pia'), v_s1, 50, 10, 't2', true, v_tip2, 'k-t2');
    PERFORM tests.post(v_tip1, 'vera', -100, 'tip', 'tip', v_tip1, 't1:vera');
    PERFORM tests.post(v_tip1, 'pia', 80, 'tip', 'tip', v_tip1, 't1:pia');
    PERFORM tests.post(v_tip1, 'platform_fees', 20, 'tip_fee', 'tip', v_tip1, 't1:platform_fees');
    PERFORM tests.post(v_tip2, 'victor', -50, 'tip', 'tip', v_tip2, 't2:victor');
    PERFORM tests.post(v_tip2, 'pia', 40, 'tip', 'tip', v_tip2, 't2:pia');
    PERFORM tests.post(v_tip2, 'platform_fees', 10, 'tip_fee', 'tip', v_tip2, 't2:platform_fees');

    INSERT INTO lp.kyc_verifications (id, user_id, level, status, provider_reference, reviewed_at, reviewed_by)
    VALUES (v_kyc, tests.user_id('pia'), 'identity', 'approved', 'kyc-pia', now(), tests.user_id('adam'));
    INSERT INTO lp.kyc_verifications (user_id, level, provider_reference)
    VALUES (tests.user_id('vera'), 'age', 'kyc-vera');
    INSERT INTO lp.kyc_aliases (verification_id, alias)
    SELECT k.id, 'al1' FROM lp.kyc_verifications AS k WHERE k.provider_reference = 'kyc-vera';
    INSERT INTO lp.kyc_webhook_events (provider, event_id, verification_id, requested_status, status_before,
                                       status_after, outcome)
    VALUES ('manual', 'ev1', v_kyc, 'approved', 'submitted', 'approved', 'applied');
    INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, method, idempotency_key)
    VALUES (tests.user_id('pia'), v_kyc, 100, 100, 100, 'paypal', 'payout-pia');

    INSERT INTO lp.reports (reporter_id, reported_user_id, reason, description)
    VALUES (tests.user_id('vera'), tests.user_id('victor'), 'harassment', 'r1');
    INSERT INTO lp.reports (reporter_id, reported_user_id, stream_id, reason, description)
    VALUES (tests.user_id('victor'), tests.user_id('pia'), v_s1, 'spam', 'r2');
    INSERT INTO lp.report_filings (case_id, reporter_id, description, trusted)
    SELECT r.id, r.reporter_id, 'rf1', true FROM lp.reports AS r WHERE r.description = 'r1';
    INSERT INTO lp.moderation_flags (stream_id, user_id, content_type, content_ref, detector, category, confidence)
    VALUES (v_s1, tests.user_id('pia'), 'stream_video', 'f1', 'nsfw-v1', 'nudity', 0.9);
    INSERT INTO lp.user_sanctions (user_id, sanction_type, reason, issued_by)
    VALUES (tests.user_id('victor'), 'warning', 'x1', tests.user_id('mona'));
    INSERT INTO lp.sanction_appeals (sanction_id, user_id, statement)
    SELECT s.id, s.user_id, 'ap1' FROM lp.user_sanctions AS s WHERE s.reason = 'x1';

    -- token economy: vera holds 100 for pia (10 captured), vera's daily limit, an adjustment for victor,
    -- a retired bundle, a transition idempotency key
    INSERT INTO lp.holds (id, user_id, wallet_id, payee_id, purpose, amount, captured, expires_at, idempotency_key)
    SELECT v_hold, tests.user_id('vera'), w.id, tests.user_id('pia'), 'private_show', 100, 10,
           now() + interval '1 hour', 'h1'
      FROM lp.wallets AS w WHERE w.user_id = tests.user_id('vera');
    INSERT INTO lp.hold_captures (hold_id, amount, fee_amount, transaction_id, idempotency_key)
    VALUES (v_hold, 10, 2, gen_random_uuid(), 'c1');
    INSERT INTO lp.spending_limits (user_id, period, limit_tokens) VALUES (tests.user_id('vera'), 'daily', 500);
    INSERT INTO lp.adjustments (user_id, amount, reason, created_by, transaction_id, idempotency_key)
    VALUES (tests.user_id('victor'), 5, 'a1', tests.user_id('adam'), gen_random_uuid(), 'adj-1');
    INSERT INTO lp.token_bundles (code, tokens, price_minor, active) VALUES ('retired', 10, 10, false);
    INSERT INTO lp.idempotency_keys (scope, key, request) VALUES ('payments.complete', 'ik1', '{}');
    -- the fraud controls' counters of vera (owner only)
    INSERT INTO lp.spend_counters (user_id, account_created_at) VALUES (tests.user_id('vera'), now());

    -- tip menus and goals: pia's menu (one item inactive); a goal on each of s1 (public, live), s2 (private)
    -- and s4 (paul's, public); the live one's progress
    INSERT INTO lp.tip_menu_items (performer_id, name, price, is_active)
    VALUES (tests.user_id('pia'), 'Wave', 25, true), (tests.user_id('pia'), 'Old', 40, false);
    INSERT INTO lp.tip_goals (stream_id, position, description, target_tokens, status, activated_at)
    VALUES (v_s1, 1, 'g1', 1000, 'active', now());
    INSERT INTO lp.tip_goals (stream_id, position, description, target_tokens)
    SELECT s.id, 1, 'g' || substr(s.title, 2), 500 FROM lp.streams AS s WHERE s.title IN ('s2', 's4');
    INSERT INTO lp.tip_goal_progress (goal_id, shard, tokens, tips)
    SELECT g.id, 1, 150, 2 FROM lp.tip_goals AS g WHERE g.description = 'g1';

    -- shows: pia's prices (group disabled); vera asked pia for a private show in s1 (her hold above)
    INSERT INTO lp.show_prices (performer_id, show_type, rate, spy_rate, min_minutes, min_participants, is_enabled)
    VALUES (tests.user_id('pia'), 'private', 30, 10, 2, NULL, true),
           (tests.user_id('pia'), 'group', 10, NULL, 5, 3, false);
    INSERT INTO lp.shows (stream_id, host_id, show_type, status, rate, min_minutes, requested_by, answer_by)
    VALUES (v_s1, tests.user_id('pia'), 'private', 'requested', 30, 2, tests.user_id('vera'), now() + interval '2 minutes');
    INSERT INTO lp.show_participants (show_id, user_id, role, rate, hold_id)
    SELECT s.id, tests.user_id('vera'), 'payer', 30, v_hold FROM lp.shows AS s;

    -- monitoring (owner only): a metrics sample and a recorded ledger verification
    INSERT INTO lp.metric_samples (wal_lsn, database_bytes, table_bytes) VALUES ('0/16B3748', 8388608, '{"tips": 8192}');
    INSERT INTO lp.verify_runs (started_at, entries, violations) VALUES (now() - interval '1 minute', 6, 0);

    -- archiving (owner only): a checkpoint row, its carry-forward and an archive already restored (so verify_ledger is unaffected)
    INSERT INTO lp.ledger_checkpoints (boundary, wallet_id, shard, balance, last_entry_id)
    SELECT '2020-01-01T00:00:00Z', w.id, 0, 0, 1 FROM lp.wallets AS w WHERE w.user_id = tests.user_id('vera');
    INSERT INTO lp.earnings_checkpoints (boundary, wallet_id, earned, spent, refunded)
    SELECT '2020-01-01T00:00:00Z', w.id, 0, 1, 0 FROM lp.wallets AS w WHERE w.user_id = tests.user_id('vera');
    INSERT INTO lp.archives (table_name, partition_name, range_from, range_to, boundary, checkpoint_accounts,
                             checkpoint_sha256, file_name, file_sha256, content_sha256, row_count, restored_at)
    VALUES ('lp.ledger', 'lp_partitions.ledger_2019_12', '2019-12-01T00:00:00Z', '2020-01-01T00:00:00Z',
            '2020-01-01T00:00:00Z', 1, repeat('a', 64), '/cold/ledger_2019_12.jsonl.gz', repeat('b', 64),
            repeat('c', 64), 0, now());

    -- scale-out (owner only; a single node leaves them empty): a shard identity and a cross-shard tip each way
    INSERT INTO lp.shard_self (shard, shard_count) VALUES (0, 2);
    INSERT INTO lp.remote_users (user_id, home_shard) VALUES (tests.user_id('vera'), 1);
    INSERT INTO lp.transfers_out (id, sender_id, recipient_id, to_shard, amount, fee_amount, idempotency_key,
                                  transaction_id)
    VALUES (gen_random_uuid(), tests.user_id('vera'), gen_random_uuid(), 1, 10, 2, 'rls-transfer', gen_random_uuid());
    INSERT INTO lp.transfers_in (id, from_shard, sender_id, recipient_id, tip_amount, amount, transaction_id, sent_at)
    VALUES (gen_random_uuid(), 1, gen_random_uuid(), tests.user_id('pia'), 10, 8, gen_random_uuid(), now());
    INSERT INTO lp.payout_hold_requests (performer_id, to_shard, payment_id, tokens)
    VALUES (gen_random_uuid(), 1, (SELECT p.id FROM lp.payments AS p LIMIT 1), 10);
    INSERT INTO lp.payout_hold_receipts (id, from_shard, performer_id)
    VALUES (gen_random_uuid(), 1, tests.user_id('pia'));
    INSERT INTO lp.payout_hold_lifts (hold_request_id, to_shard, case_id, reason)
    SELECT q.id, 1, (SELECT r.id FROM lp.reports AS r WHERE r.description = 'r1'), 'rls-lift'
      FROM lp.payout_hold_requests AS q;
    INSERT INTO lp.payout_hold_lift_receipts (id, from_shard, hold_receipt_id, case_id, outcome)
    SELECT gen_random_uuid(), 1, r.id, gen_random_uuid(), 'no_hold' FROM lp.payout_hold_receipts AS r;
    INSERT INTO lp.sanction_requests (user_id, to_shard, case_id, sanction_type, reason)
    VALUES (tests.user_id('vera'), 1, (SELECT r.id FROM lp.reports AS r WHERE r.description = 'r1'), 'warning',
            'rls-request');
    INSERT INTO lp.sanction_receipts (id, from_shard, case_id, user_id, outcome)
    VALUES (gen_random_uuid(), 1, gen_random_uuid(), tests.user_id('pia'), 'lapsed');
    INSERT INTO lp.remote_gates (user_id, gaps) VALUES (tests.user_id('vera'), ARRAY['rls-gate']);
END
$$;

-- Every row, as the superuser sees it: what admins and the reporting role are compared with.
CREATE TABLE tests.all_labels AS
SELECT c.relname::text AS table_name, l.label
  FROM pg_catalog.pg_class AS c CROSS JOIN LATERAL tests.labels(c.relname) AS l (label)
 WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p');
CREATE TABLE tests.all_counts AS SELECT * FROM tests.row_counts();
CREATE TABLE tests.all_users AS SELECT u.id, u.username::text AS username, u.email::text AS email FROM lp.users AS u;
GRANT SELECT ON tests.all_labels, tests.all_counts, tests.all_users TO PUBLIC;

SELECT set_eq($$SELECT table_name FROM tests.all_counts WHERE n > 0$$,
              $$SELECT c.relname::text FROM pg_catalog.pg_class AS c
                 WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p')$$,
              'fixture: every lp table holds data (so every deny case below is meaningful)');

-- == Nobody acting =========================================================================================
SELECT tests.authenticate_as(NULL);
SELECT is_empty($$SELECT table_name, n FROM tests.row_counts() WHERE n > 0$$,
                'nobody acting (livepanty_app): every lp table reads as empty');
SELECT throws_ok($$SELECT id FROM lp.password_reset_tokens$$, '42501', NULL,
                 'nobody acting: password reset tokens are not readable at all by the application');
SELECT is_empty($$SELECT id FROM api.user_summary$$, 'nobody acting: api.user_summary is empty');
SELECT is_empty($$SELECT id FROM api.stream_summary$$, 'nobody acting: api.stream_summary is empty (streams are for signed-in users)');
SELECT is_empty($$SELECT id FROM api.public_profile(tests.user_id('vera'))$$, 'nobody acting: api.public_profile returns nothing');
SELECT is_empty($$SELECT s.id FROM lp.streams AS s$$, 'nobody acting: not even public streams');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is_empty($$SELECT table_name, n FROM tests.row_counts() WHERE n > 0$$,
                'nobody acting (livepanty_service): every lp table reads as empty');

-- == Viewer (vera) =========================================================================================
SELECT tests.authenticate_as('vera');
SELECT set_eq($$SELECT tests.labels('users')$$, ARRAY['vera'], 'viewer: users shows only their own account');
SELECT set_eq($$SELECT tests.labels('user_preferences')$$, ARRAY['vera'], 'viewer: only their own preferences');
SELECT set_eq($$SELECT tests.labels('auth_sessions')$$, ARRAY['ua-vera'], 'viewer: only their own sessions');
SELECT set_eq($$SELECT tests.labels('wallets')$$, ARRAY['vera'], 'viewer: only their own wallet');
SELECT set_eq($$SELECT tests.labels('ledger')$$, ARRAY['p1:vera', 't1:vera'], 'viewer: only their own wallet''s ledger entries');
SELECT set_eq($$SELECT tests.labels('tips')$$, ARRAY['t1'], 'viewer: only the tips they sent');
SELECT set_eq($$SELECT tests.labels('payments')$$, ARRAY['pay-vera'], 'viewer: only their own payments');
SELECT is_empty($$SELECT tests.labels('payouts')$$, 'viewer: no payouts (none of their own)');
SELECT set_eq($$SELECT tests.labels('streams')$$, ARRAY['s1', 's4'], 'viewer: public streams that are not deleted, no private one');
SELECT set_eq($$SELECT tests.labels('stream_viewers')$$, ARRAY['vera@s1'], 'viewer: only their own viewing sessions');
SELECT is_empty($$SELECT tests.labels('stream_performers')$$, 'viewer: not who else is on camera in a stream');
SELECT is_empty($$SELECT tests.labels('stream_consents')$$, 'viewer: no consent records');
SELECT is_empty($$SELECT tests.labels('performer_blocks')$$, 'viewer: not whom a performer blocked (not even themselves)');
SELECT throws_ok($$SELECT * FROM lp.stream_counters$$, '42501', NULL, 'viewer: the counter rows are not readable (api.get_stream sums them)');
SELECT set_eq($$SELECT tests.labels('tip_menu_items')$$, ARRAY['Wave'], 'viewer: the active items of tip menus only');
SELECT set_eq($$SELECT tests.labels('tip_goals')$$, ARRAY['g1', 'g4'], 'viewer: the goals of public streams only');
SELECT throws_ok($$SELECT * FROM lp.tip_goal_progress$$, '42501', NULL, 'viewer: the progress rows are not readable (api.stream_goals sums them)');
SELECT set_eq($$SELECT tests.labels('show_prices')$$, ARRAY['pia:private'], 'viewer: the show prices on offer only');
SELECT is_empty($$SELECT tests.labels('shows')$$, 'viewer: no show rows (api.stream_shows answers them, without who asked)');
SELECT set_eq($$SELECT tests.labels('show_participants')$$, ARRAY['vera@payer'], 'viewer: their own part in shows only');
SELECT throws_ok($$SELECT * FROM lp.stream_events$$, '42501', NULL, 'viewer: the event rows are not readable (api.stream_events reads them, with anonymity)');
SELECT set_eq($$SELECT tests.labels('kyc_verifications')$$, ARRAY['kyc-vera'], 'viewer: only their own KYC verification');
SELECT is_empty($$SELECT tests.labels('reports')$$, 'viewer: no case, not even the one they reported (their filing is theirs, the case is staff''s)');
SELECT is_empty($$SELECT tests.labels('moderation_flags')$$, 'viewer: no moderation flags');
SELECT set_eq($$SELECT tests.labels('report_filings')$$, ARRAY['rf1'], 'viewer: only the report filings they made');
SELECT is_empty($$SELECT tests.labels('user_sanctions')$$, 'viewer: no sanctions (none of their own; victor''s is hidden)');
SELECT is_empty($$SELECT tests.labels('sanction_appeals')$$, 'viewer: no appeals (victor''s is hidden)');
SELECT is_empty($$SELECT tests.labels('audit_logs')$$, 'viewer: no audit trail, not even their own entries');
SELECT is_empty($$SELECT tests.labels('settings')$$, 'viewer: no runtime settings');
SELECT is_empty($$SELECT id FROM lp.wallets WHERE user_id = tests.user_id('victor')$$,
                'viewer: another user''s wallet, asked for by id, returns nothing');
SELECT is_empty($$SELECT id FROM lp.users WHERE id = tests.user_id('victor')$$,
                'viewer: another user''s account, asked for by id, returns nothing');
SELECT is_empty($$SELECT id FROM lp.kyc_verifications WHERE user_id = tests.user_id('pia')$$,
                'viewer: another user''s KYC verification, asked for by user, returns nothing');
SELECT is_empty($$SELECT id FROM lp.auth_sessions WHERE user_id <> tests.user_id('vera')$$,
                'viewer: no other user''s session');
SELECT set_eq($$SELECT tests.labels('holds')$$, ARRAY['h1'], 'viewer: the hold they placed');
SELECT set_eq($$SELECT tests.labels('hold_captures')$$, ARRAY['c1'], 'viewer: the captures of their hold');
SELECT set_eq($$SELECT tests.labels('spending_limits')$$, ARRAY['vera:daily'], 'viewer: their own spending limit');
SELECT is_empty($$SELECT tests.labels('adjustments')$$, 'viewer: no adjustment of another user''s wallet');
SELECT is_empty($$SELECT tests.labels('wallet_shards')$$, 'viewer: no shards (theirs has none, others'' are hidden)');
SELECT set_eq($$SELECT tests.labels('token_bundles')$$, ARRAY['small', 'medium', 'large'], 'viewer: the bundles on sale, not the retired one');
SELECT throws_ok($$SELECT key FROM lp.idempotency_keys$$, '42501', NULL, 'viewer: idempotency records are not readable by the application');
SELECT throws_ok($$SELECT user_id FROM lp.spend_counters$$, '42501', NULL, 'viewer: the fraud controls'' counters are not readable by the application, not even one''s own');
SELECT results_eq($$SELECT username, balance, reserved, available, kyc_status FROM api.user_summary$$,
                  $$VALUES ('vera', 900::bigint, 0::bigint, 900::bigint, 'submitted')$$,
                  'viewer: api.user_summary shows their own row only, with balance and KYC status');
SELECT set_eq($$SELECT title FROM api.stream_summary$$, ARRAY['s1', 's4'],
              'viewer: api.stream_summary lists the public streams');
SELECT results_eq($$SELECT host_username, current_viewers, unique_viewers, tip_count, tokens_tipped
                      FROM api.stream_summary WHERE title = 's1'$$,
                  $$VALUES ('pia', 2::bigint, 2::bigint, 2::bigint, NULL::bigint)$$,
                  'viewer: api.stream_summary carries host and aggregate statistics (not individual tips, not the host''s earnings)');
SELECT results_eq($$SELECT username, display_name FROM api.public_profile(tests.user_id('victor'))$$,
                  $$VALUES ('victor', NULL::text)$$,
                  'viewer: another user''s public profile is available through api.public_profile');

-- direct writes to the money and audit tables are refused by privilege (42501), before RLS
SELECT throws_ok($$INSERT INTO lp.wallets (kind, system_code) VALUES ('system', 'mint')$$, '42501', NULL, 'app: INSERT into lp.wallets is refused');
SELECT throws_ok($$UPDATE lp.wallets SET balance = balance + 1000000$$, '42501', NULL, 'app: UPDATE of lp.wallets is refused');
SELECT throws_ok($$DELETE FROM lp.wallets$$, '42501', NULL, 'app: DELETE from lp.wallets is refused');
SELECT throws_ok($$INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after, entry_kind, reference_type, reference_id)
                   SELECT gen_random_uuid(), id, 1000, balance, balance + 1000, 'adjustment', 'adjustment', gen_random_uuid() FROM lp.wallets$$,
                 '42501', NULL, 'app: INSERT into lp.ledger is refused');
SELECT throws_ok($$UPDATE lp.ledger SET amount = amount * 2$$, '42501', NULL, 'app: UPDATE of lp.ledger is refused');
SELECT throws_ok($$DELETE FROM lp.ledger$$, '42501', NULL, 'app: DELETE from lp.ledger is refused');
SELECT throws_ok($$INSERT INTO lp.tips (sender_id, recipient_id, amount, fee_amount, transaction_id, idempotency_key)
                   VALUES (tests.user_id('vera'), tests.user_id('pia'), 1, 0, gen_random_uuid(), 'k')$$,
                 '42501', NULL, 'app: INSERT into lp.tips is refused');
SELECT throws_ok($$UPDATE lp.tips SET status = 'refunded'$$, '42501', NULL, 'app: UPDATE of lp.tips is refused');
SELECT throws_ok($$DELETE FROM lp.tips$$, '42501', NULL, 'app: DELETE from lp.tips is refused');
SELECT throws_ok($$INSERT INTO lp.payments (user_id, provider, tokens, amount_minor, status, idempotency_key, completed_at)
                   VALUES (tests.user_id('vera'), 'stripe', 1000000, 1, 'completed', 'k', now())$$,
                 '42501', NULL, 'app: INSERT into lp.payments is refused');
SELECT throws_ok($$UPDATE lp.payments SET status = 'refunded', refunded_at = now()$$, '42501', NULL, 'app: UPDATE of lp.payments is refused');
SELECT throws_ok($$DELETE FROM lp.payments$$, '42501', NULL, 'app: DELETE from lp.payments is refused');
SELECT throws_ok($$INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, method, idempotency_key)
                   SELECT tests.user_id('vera'), id, 1, 100, 1, 'paypal', 'k' FROM lp.kyc_verifications$$,
                 '42501', NULL, 'app: INSERT into lp.payouts is refused');
SELECT throws_ok($$UPDATE lp.payouts SET status = 'paid', paid_at = now()$$, '42501', NULL, 'app: UPDATE of lp.payouts is refused');
SELECT throws_ok($$DELETE FROM lp.payouts$$, '42501', NULL, 'app: DELETE from lp.payouts is refused');
SELECT throws_ok($$INSERT INTO lp.audit_logs (action) VALUES ('auth.login')$$, '42501', NULL, 'app: INSERT into lp.audit_logs is refused');
SELECT throws_ok($$UPDATE lp.audit_logs SET action = 'auth.login'$$, '42501', NULL, 'app: UPDATE of lp.audit_logs is refused');
SELECT throws_ok($$DELETE FROM lp.audit_logs$$, '42501', NULL, 'app: DELETE from lp.audit_logs is refused');
SELECT throws_ok($$TRUNCATE lp.ledger$$, '42501', NULL, 'app: TRUNCATE of lp.ledger is refused');
SELECT throws_ok($$UPDATE lp.users SET role = 'admin' WHERE id = tests.user_id('vera')$$, '42501', NULL,
                 'app: a user cannot promote themselves by updating lp.users');

-- == Another viewer (victor): the anonymous tipper and the sanctioned user =================================
SELECT tests.authenticate_as('victor');
SELECT set_eq($$SELECT tests.labels('adjustments')$$, ARRAY['a1'], 'viewer: the adjustments of their own wallet');
SELECT is_empty($$SELECT tests.labels('holds')$$, 'viewer: not another viewer''s hold');
SELECT set_eq($$SELECT tests.labels('tips')$$, ARRAY['t2'], 'sender: sees their own anonymous tip');
SELECT set_eq($$SELECT tests.labels('user_sanctions')$$, ARRAY['x1'], 'sanctioned user: sees their own sanction');
SELECT set_eq($$SELECT tests.labels('sanction_appeals')$$, ARRAY['ap1'], 'appellant: sees their own appeal');
SELECT is_empty($$SELECT tests.labels('reports')$$, 'reported user: no case, neither the one against them nor the one they reported');
SELECT is_empty($$SELECT tests.labels('report_filings')$$, 'reported user: not the filing against them (nor who made it)');
SELECT set_eq($$SELECT tests.labels('stream_viewers')$$, ARRAY['victor@s1', 'victor@s4'], 'viewer: their own viewing sessions in every stream');
SELECT set_eq($$SELECT tests.labels('ledger')$$, ARRAY['p2:victor', 't2:victor'], 'viewer: their own ledger entries only');
SELECT is_empty($$SELECT tests.labels('kyc_verifications')$$, 'viewer without KYC: no verification');
SELECT results_eq($$SELECT username, active_sanction::text FROM api.user_summary$$, $$VALUES ('victor', NULL::text)$$,
                  'api.user_summary: a warning is not a blocking sanction (active_sanction stays NULL)');

-- == Performer (pia) =======================================================================================
SELECT tests.authenticate_as('pia');
SELECT set_eq($$SELECT tests.labels('users')$$, ARRAY['pia'], 'performer: users shows only their own account');
SELECT set_eq($$SELECT tests.labels('user_preferences')$$, ARRAY['pia'], 'performer: only their own preferences');
SELECT set_eq($$SELECT tests.labels('auth_sessions')$$, ARRAY['ua-pia'], 'performer: only their own sessions');
SELECT set_eq($$SELECT tests.labels('wallets')$$, ARRAY['pia'], 'performer: only their own wallet');
SELECT set_eq($$SELECT tests.labels('ledger')$$, ARRAY['t1:pia', 't2:pia'], 'performer: the entries of their own wallet (both tips received)');
SELECT set_eq($$SELECT tests.labels('tips')$$, ARRAY['t1'], 'performer: the signed tip received; the anonymous one is hidden');
SELECT set_eq($$SELECT tests.labels('tip_menu_items')$$, ARRAY['Wave', 'Old'], 'performer: their whole tip menu, inactive items too');
SELECT set_eq($$SELECT tests.labels('tip_goals')$$, ARRAY['g1', 'g2', 'g4'], 'performer: the goals of their streams (private too) and of public ones');
SELECT set_eq($$SELECT tests.labels('show_prices')$$, ARRAY['pia:private', 'pia:group'], 'performer: their show prices, disabled too');
SELECT set_eq($$SELECT tests.labels('shows')$$, ARRAY['private@s1'], 'host: the shows of their streams');
SELECT set_eq($$SELECT tests.labels('show_participants')$$, ARRAY['vera@payer'], 'host: who is in their shows');
SELECT is_empty($$SELECT tests.labels('payments')$$, 'performer: no payments (none of their own)');
SELECT set_eq($$SELECT tests.labels('payouts')$$, ARRAY['payout-pia'], 'performer: their own payout');
SELECT set_eq($$SELECT tests.labels('streams')$$, ARRAY['s1', 's2', 's4'], 'performer: their own streams (private too) and public ones');
SELECT set_eq($$SELECT tests.labels('stream_viewers')$$, ARRAY['vera@s1', 'victor@s1'], 'host: who watched their streams, not other streams');
SELECT set_eq($$SELECT tests.labels('stream_performers')$$, ARRAY['paul@s1'], 'host: the co-performers of their streams');
SELECT results_eq($$SELECT tokens_tipped FROM api.stream_summary WHERE title = 's1'$$, $$VALUES (150::bigint)$$,
                  'host: api.stream_summary shows the host what their stream earned');
SELECT set_eq($$SELECT tests.labels('stream_consents')$$, ARRAY['pia@s1', 'paul@s1'], 'host: the consents given for their streams');
SELECT throws_ok($$SELECT ip_address FROM lp.stream_consents$$, '42501', NULL, 'host: not the IP address a consent came from');
SELECT set_eq($$SELECT tests.labels('kyc_verifications')$$, ARRAY['kyc-pia'], 'performer: their own KYC verification');
SELECT is_empty($$SELECT tests.labels('reports')$$, 'performer: not the report filed against them');
SELECT is_empty($$SELECT tests.labels('moderation_flags')$$, 'performer: not the moderation flag on their stream');
SELECT is_empty($$SELECT tests.labels('report_filings')$$, 'performer: no report filings');
SELECT is_empty($$SELECT tests.labels('user_sanctions')$$, 'performer: no sanctions');
SELECT is_empty($$SELECT tests.labels('sanction_appeals')$$, 'performer: no appeals');
SELECT is_empty($$SELECT tests.labels('audit_logs')$$, 'performer: no audit trail');
SELECT is_empty($$SELECT tests.labels('settings')$$, 'performer: no runtime settings');
SELECT is_empty($$SELECT id FROM lp.tips WHERE is_anonymous$$, 'recipient: no anonymous tip, even asked for directly');
SELECT set_eq($$SELECT tests.labels('holds')$$, ARRAY['h1'], 'payee: the hold placed for them');
SELECT set_eq($$SELECT tests.labels('hold_captures')$$, ARRAY['c1'], 'payee: the captures of a hold placed for them');
SELECT set_eq($$SELECT tests.labels('wallet_shards')$$, ARRAY['pia:1', 'pia:2', 'pia:3', 'pia:4', 'pia:5', 'pia:6', 'pia:7', 'pia:8'],
              'performer: the credit shards of their own wallet');
SELECT is_empty($$SELECT tests.labels('spending_limits')$$, 'performer: not another user''s spending limit');
SELECT is_empty($$SELECT tests.labels('adjustments')$$, 'performer: no adjustment of another user''s wallet');
SELECT set_eq($$SELECT title FROM api.stream_summary$$, ARRAY['s1', 's2', 's4'],
              'performer: api.stream_summary lists their private stream too');
SELECT results_eq($$SELECT username, balance FROM api.user_summary$$, $$VALUES ('pia', 120::bigint)$$,
                  'performer: api.user_summary shows their own row only');

-- == Performer (paul): a host and their soft-deleted stream ================================================
SELECT tests.authenticate_as('paul');
SELECT set_eq($$SELECT tests.labels('streams')$$, ARRAY['s1', 's4'],
              'host: their soft-deleted stream is hidden from them too (deleted_at: hidden from everyone but moderators and admins)');
SELECT set_eq($$SELECT tests.labels('stream_viewers')$$, ARRAY['victor@s4'], 'host: viewers of their own streams');
SELECT set_eq($$SELECT tests.labels('stream_performers')$$, ARRAY['paul@s1'], 'co-performer: the stream they are on camera in');
SELECT set_eq($$SELECT tests.labels('stream_consents')$$, ARRAY['paul@s1'], 'co-performer: their own consent, not the host''s');
SELECT set_eq($$SELECT tests.labels('performer_blocks')$$, ARRAY['paul blocks vera'], 'performer: their own block list');
SELECT set_eq($$SELECT title FROM api.stream_summary$$, ARRAY['s1', 's4'], 'host: api.stream_summary has no deleted stream');

-- == Moderator (mona) ======================================================================================
SELECT tests.authenticate_as('mona');
SELECT set_eq($$SELECT tests.labels('users')$$, ARRAY['vera', 'victor', 'pia', 'paul', 'mona', 'adam'], 'moderator: every account');
SELECT set_eq($$SELECT tests.labels('user_preferences')$$, ARRAY['mona'], 'moderator: only their own preferences');
SELECT set_eq($$SELECT tests.labels('auth_sessions')$$, ARRAY['ua-mona'], 'moderator: only their own sessions');
SELECT set_eq($$SELECT tests.labels('wallets')$$, ARRAY['mona'], 'moderator: only their own wallet');
SELECT is_empty($$SELECT tests.labels('ledger')$$, 'moderator: no ledger entries of others');
SELECT is_empty($$SELECT tests.labels('tips')$$, 'moderator: no tips of others');
SELECT is_empty($$SELECT tests.labels('payments')$$, 'moderator: no payments of others');
SELECT is_empty($$SELECT tests.labels('payouts')$$, 'moderator: no payouts of others');
SELECT set_eq($$SELECT tests.labels('streams')$$, ARRAY['s1', 's2', 's3', 's4'], 'moderator: every stream, private and deleted too');
SELECT set_eq($$SELECT tests.labels('stream_viewers')$$, ARRAY['vera@s1', 'victor@s1', 'victor@s4'], 'moderator: every viewing session');
SELECT set_eq($$SELECT tests.labels('stream_consents')$$, ARRAY['pia@s1', 'paul@s1'], 'moderator: every consent record');
SELECT set_eq($$SELECT tests.labels('performer_blocks')$$, ARRAY['paul blocks vera'], 'moderator: every block list');
SELECT set_eq($$SELECT tests.labels('tip_menu_items')$$, ARRAY['Wave', 'Old'], 'moderator: every menu item, inactive too');
SELECT set_eq($$SELECT tests.labels('tip_goals')$$, ARRAY['g1', 'g2', 'g4'], 'moderator: every goal');
SELECT set_eq($$SELECT tests.labels('show_prices')$$, ARRAY['pia:private', 'pia:group'], 'moderator: every show price');
SELECT set_eq($$SELECT tests.labels('shows')$$, ARRAY['private@s1'], 'moderator: every show');
SELECT set_eq($$SELECT tests.labels('show_participants')$$, ARRAY['vera@payer'], 'moderator: every participant');
SELECT is_empty($$SELECT tests.labels('kyc_verifications')$$, 'moderator: NOT the KYC verifications (identity documents are for admins)');
SELECT set_eq($$SELECT tests.labels('reports')$$, ARRAY['r1', 'r2'], 'moderator: every report');
SELECT set_eq($$SELECT tests.labels('moderation_flags')$$, ARRAY['f1'], 'moderator: every moderation flag');
SELECT set_eq($$SELECT tests.labels('report_filings')$$, ARRAY['rf1'], 'moderator: every report filing');
SELECT set_eq($$SELECT tests.labels('user_sanctions')$$, ARRAY['x1'], 'moderator: every sanction');
SELECT set_eq($$SELECT tests.labels('sanction_appeals')$$, ARRAY['ap1'], 'moderator: every appeal');
SELECT is_empty($$SELECT tests.labels('audit_logs')$$, 'moderator: NOT the audit trail');
SELECT is_empty($$SELECT tests.labels('settings')$$, 'moderator: no runtime settings');
SELECT is_empty($$SELECT tests.labels('holds')$$, 'moderator: no holds of others');
SELECT is_empty($$SELECT tests.labels('hold_captures')$$, 'moderator: no captures of others');
SELECT is_empty($$SELECT tests.labels('adjustments')$$, 'moderator: no adjustments of others');
SELECT is_empty($$SELECT tests.labels('spending_limits')$$, 'moderator: no spending limits of others');
SELECT is_empty($$SELECT tests.labels('wallet_shards')$$, 'moderator: no wallet shards of others');
SELECT set_eq($$SELECT tests.labels('token_bundles')$$, ARRAY['small', 'medium', 'large'], 'moderator: the bundles on sale');
SELECT throws_ok($$SELECT id FROM lp.password_reset_tokens$$, '42501', NULL, 'moderator: password reset tokens are not readable');
SELECT is_empty($$SELECT username FROM api.user_summary WHERE username <> 'mona' AND (balance IS NOT NULL OR kyc_status IS NOT NULL)$$,
                'moderator: api.user_summary does not leak other users'' balances or KYC status');
SELECT set_eq($$SELECT title FROM api.stream_summary$$, ARRAY['s1', 's2', 's3', 's4'],
              'moderator: api.stream_summary lists every stream, the deleted one too (as the one-stream reads answer staff)');
SELECT set_eq($$SELECT title FROM api.stream_summary WHERE deleted_at IS NULL$$, ARRAY['s1', 's2', 's4'],
              'moderator: deleted_at marks the deleted stream (filter on it to leave it out)');

-- == Admin (adam) ==========================================================================================
SELECT tests.authenticate_as('adam');
SELECT set_eq(format('SELECT tests.labels(%L)', t),
              format('SELECT label FROM tests.all_labels WHERE table_name = %L', t),
              format('admin: every row of lp.%s', t))
  FROM unnest(ARRAY['users', 'user_preferences', 'auth_sessions', 'wallets', 'ledger', 'tips', 'payments',
                    'payouts', 'streams', 'stream_viewers', 'kyc_verifications', 'reports', 'moderation_flags',
                    'report_filings', 'user_sanctions', 'sanction_appeals', 'audit_logs', 'settings', 'wallet_shards', 'token_bundles', 'holds',
                    'hold_captures', 'spending_limits', 'adjustments', 'stream_performers', 'stream_consents',
                    'performer_blocks', 'tip_menu_items', 'tip_goals', 'show_prices', 'shows',
                    'show_participants']) AS t;
SELECT set_eq($$SELECT tests.labels('tips')$$, ARRAY['t1', 't2'], 'admin: anonymous tips too');
SELECT throws_ok($$SELECT id FROM lp.password_reset_tokens$$, '42501', NULL, 'admin (through the app): password reset tokens are not readable');
SELECT throws_ok($$SELECT id FROM lp.erasures$$, '42501', NULL, 'admin (through the app): the erasure log is not readable (api.list_erasures, back office)');
SELECT throws_ok($$SELECT alias FROM lp.kyc_aliases$$, '42501', NULL, 'admin (through the app): stage names are not readable (api.kyc_record, compliance officers)');
SELECT throws_ok($$SELECT event_id FROM lp.kyc_webhook_events$$, '42501', NULL, 'admin (through the app): KYC webhook events are not readable (back office)');
SELECT set_eq($$SELECT username FROM api.user_summary$$, ARRAY['vera', 'victor', 'pia', 'paul', 'mona', 'adam'],
              'admin: api.user_summary shows every active user');
SELECT results_eq($$SELECT username, balance, kyc_status FROM api.user_summary WHERE username IN ('vera', 'pia') ORDER BY username$$,
                  $$VALUES ('pia', 120::bigint, 'approved'), ('vera', 900::bigint, 'submitted')$$,
                  'admin: api.user_summary shows everyone''s balance and KYC status');
SELECT throws_ok($$UPDATE lp.wallets SET balance = 0$$, '42501', NULL, 'admin (through the app): direct wallet writes are refused too');
SELECT throws_ok($$SELECT password_hash FROM lp.users$$, '42501', NULL, 'admin (through the app): password hashes are not readable');

-- == Reporting role: the pseudonymised views of schema reporting, nothing of lp ============================
SELECT tests.authenticate_as(NULL, 'livepanty_readonly');
SELECT is_empty($$SELECT table_name FROM tests.row_counts()$$,
                'livepanty_readonly: may SELECT no column of any lp table');
SELECT is_empty($$SELECT * FROM tests.tables_not_refused()$$,
                'livepanty_readonly: every lp table (the keys, the users, the sessions, ...) refuses it with 42501');
SELECT set_eq($$SELECT c.relname::text FROM pg_catalog.pg_class AS c
                 WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind = 'v'$$,
              ARRAY['users', 'wallets', 'ledger', 'tips', 'payments', 'payouts', 'holds', 'hold_captures', 'adjustments',
                    'streams', 'stream_viewers', 'kyc_verifications', 'user_sanctions', 'reports', 'moderation_flags',
                    'audit_logs', 'settings', 'token_bundles'],
              'schema reporting: one view per reported lp table, named after it');
SELECT set_eq($$SELECT view_name, n FROM tests.reporting_counts()$$,
              $$SELECT a.table_name, a.n FROM tests.all_counts AS a
                 WHERE a.table_name IN (SELECT c.relname FROM pg_catalog.pg_class AS c
                                         WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind = 'v')$$,
              'livepanty_readonly: each reporting view shows every row of its lp table, nobody acting');
SELECT is((SELECT count(*) FROM reporting.tips WHERE is_anonymous), 1::bigint,
          'livepanty_readonly: anonymous tips too (the sender by pseudonym)');
SELECT is_empty($$SELECT r.view_name || ': ' || u.username
                    FROM tests.reporting_rows() AS r CROSS JOIN tests.all_users AS u
                   WHERE strpos(lower(r.row_text), u.id::text) > 0 OR strpos(lower(r.row_text), lower(u.email)) > 0$$,
                'livepanty_readonly: no reporting view holds any user''s id or e-mail address (every column scanned)');
SELECT throws_ok($$SELECT count(*) FROM api.user_summary$$, '42501', NULL,
                 'livepanty_readonly: not api.user_summary (e-mail addresses, through the tables it has no right on)');
SELECT throws_ok($$UPDATE lp.settings SET value = '1'$$, '42501', NULL, 'livepanty_readonly: cannot write');
SELECT throws_ok($$SELECT api.login('vera', 'whatever')$$, '42501', NULL, 'livepanty_readonly: cannot call a writer (api.login)');

-- == The application role and the secret columns ==================================================
SELECT tests.authenticate_as('vera');
SELECT throws_ok($$SELECT password_hash FROM lp.users$$, '42501', NULL, 'app: not lp.users.password_hash, even their own');
SELECT throws_ok($$SELECT token_hash FROM lp.auth_sessions$$, '42501', NULL, 'app: not lp.auth_sessions.token_hash, even their own');
SELECT throws_ok($$SELECT stream_key_hash FROM lp.streams$$, '42501', NULL, 'app: not lp.streams.stream_key_hash');

SELECT tests.clear_authentication();
SELECT * FROM finish();
ROLLBACK;
