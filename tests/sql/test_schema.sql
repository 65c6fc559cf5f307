-- The tables, views, columns, foreign keys, indexes and CHECK constraints of the seed design (see
-- /work/shared/seed/schema-documentation.md and db/schema/). Run as the superuser: constraint tests insert
-- directly and expect SQLSTATE 23514 (check_violation) or 23503 (foreign_key_violation).
BEGIN;
SELECT plan(132);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()

-- == Tables and views ======================================================================================
SELECT has_schema('lp', 'schema lp exists');
SELECT has_schema('api', 'schema api exists');
SELECT has_table('lp', t, format('table lp.%s exists', t))
  FROM unnest(ARRAY['settings', 'users', 'user_preferences', 'auth_sessions', 'password_reset_tokens', 'wallets',
                    'ledger', 'tips', 'payments', 'payouts', 'streams', 'stream_viewers', 'kyc_verifications',
                    'reports', 'moderation_flags', 'user_sanctions', 'audit_logs']::name[]) AS t;
SELECT has_view('api', 'user_summary', 'view api.user_summary exists');
SELECT has_view('api', 'stream_summary', 'view api.stream_summary exists');
SELECT is_empty($$
    SELECT c.relname FROM pg_catalog.pg_class AS c
     WHERE c.relnamespace = 'public'::regnamespace
       AND c.relname IN (SELECT l.relname FROM pg_catalog.pg_class AS l
                          WHERE l.relnamespace IN ('lp'::regnamespace, 'api'::regnamespace))
$$, 'no table or view of lp or api has a namesake in schema public');

-- == Column types ==========================================================================================
SELECT col_type_is('lp', 'users', 'email', 'ext', 'citext', 'lp.users.email is ext.citext');
SELECT col_type_is('lp', 'users', 'username', 'ext', 'citext', 'lp.users.username is ext.citext');
SELECT col_not_null('lp', 'users', 'date_of_birth', 'lp.users.date_of_birth is mandatory');
SELECT col_type_is('lp', 'users', 'date_of_birth', 'date', 'lp.users.date_of_birth is a date');
SELECT col_type_is('lp', 'auth_sessions', 'token_hash', 'bytea', 'session tokens are stored as a hash (bytea)');
SELECT col_type_is('lp', 'password_reset_tokens', 'token_hash', 'bytea', 'reset tokens are stored as a hash (bytea)');
SELECT col_type_is('lp', 'auth_sessions', 'ip_address', 'inet', 'IP addresses are inet');
SELECT col_type_is('lp', 'audit_logs', 'details', 'jsonb', 'audit details are jsonb');
SELECT col_type_is('lp', 'settings', 'value', 'jsonb', 'setting values are jsonb');
SELECT col_type_is('lp', tbl, col, 'bigint', format('token amount lp.%s.%s is bigint', tbl, col))
  FROM (VALUES ('wallets', 'balance'), ('wallets', 'reserved'),
               ('ledger', 'amount'), ('ledger', 'balance_before'), ('ledger', 'balance_after'),
               ('tips', 'amount'), ('tips', 'fee_amount'),
               ('payments', 'tokens'), ('payments', 'amount_minor'),
               ('payouts', 'tokens'), ('payouts', 'amount_minor')) AS v (tbl, col);
SELECT is_empty($$
    SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
      FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
       AND (a.attname ~ '(^|_)(amount|balance|tokens|reserved)(_|$)' AND a.attname <> 'tokens_per_unit')
       AND a.atttypid <> 'bigint'::regtype
$$, 'every token or money amount column in lp is bigint');
SELECT is_empty($$
    SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
      FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
       AND (a.atttypid IN ('timestamp'::regtype, 'timetz'::regtype, 'time'::regtype)
            OR (a.attname LIKE '%\_at' AND a.atttypid <> 'timestamptz'::regtype))
$$, 'every point in time in lp is timestamptz (every *_at column, and no timestamp without time zone)');
SELECT is_empty($$
    SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
      FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
       AND a.atttypid IN ('real'::regtype, 'double precision'::regtype, 'money'::regtype)
$$, 'no floating point or money type anywhere in lp');
SELECT col_type_is('lp', 'ledger', 'id', 'bigint', 'ledger ids are bigint identities');
SELECT col_type_is('lp', 'audit_logs', 'id', 'bigint', 'audit log ids are bigint identities');

-- == Foreign keys and their delete actions =================================================================
SELECT set_has($$
    SELECT c.conrelid::regclass::text, a.attname::text, c.confrelid::regclass::text, c.confdeltype::text
      FROM pg_catalog.pg_constraint AS c
      JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     WHERE c.contype = 'f' AND c.connamespace = 'lp'::regnamespace
$$, $$ VALUES
    -- not history: goes with a (hard-deleted) user
    ('lp.user_preferences', 'user_id', 'lp.users', 'c'),
    ('lp.auth_sessions', 'user_id', 'lp.users', 'c'),
    ('lp.password_reset_tokens', 'user_id', 'lp.users', 'c'),
    ('lp.streams', 'host_id', 'lp.users', 'c'),
    ('lp.stream_viewers', 'stream_id', 'lp.streams', 'c'),
    ('lp.stream_viewers', 'user_id', 'lp.users', 'c'),
    -- money and compliance rows: RESTRICT
    ('lp.wallets', 'user_id', 'lp.users', 'r'),
    ('lp.payments', 'user_id', 'lp.users', 'r'),
    ('lp.payouts', 'user_id', 'lp.users', 'r'),
    ('lp.payouts', 'kyc_verification_id', 'lp.kyc_verifications', 'r'),
    ('lp.kyc_verifications', 'user_id', 'lp.users', 'r'),
    ('lp.reports', 'reported_user_id', 'lp.users', 'r'),
    ('lp.moderation_flags', 'user_id', 'lp.users', 'r'),
    ('lp.user_sanctions', 'user_id', 'lp.users', 'r'),
    -- tips keep their money when the stream goes; reviewers and reporters may be erased
    ('lp.tips', 'stream_id', 'lp.streams', 'n'),
    ('lp.reports', 'stream_id', 'lp.streams', 'n'),
    ('lp.reports', 'reporter_id', 'lp.users', 'n'),
    ('lp.reports', 'assigned_to', 'lp.users', 'n'),
    ('lp.reports', 'resolved_by', 'lp.users', 'n'),
    ('lp.reports', 'released_by', 'lp.users', 'n'),
    ('lp.moderation_flags', 'stream_id', 'lp.streams', 'n'),
    ('lp.moderation_flags', 'reviewed_by', 'lp.users', 'n'),
    ('lp.kyc_verifications', 'reviewed_by', 'lp.users', 'n'),
    ('lp.payouts', 'reviewed_by', 'lp.users', 'n'),
    ('lp.user_sanctions', 'report_id', 'lp.reports', 'n'),
    ('lp.user_sanctions', 'issued_by', 'lp.users', 'n'),
    ('lp.user_sanctions', 'revoked_by', 'lp.users', 'n')
$$, 'foreign keys delete as designed: money rows RESTRICT, preferences/sessions CASCADE, tips.stream_id SET NULL, ...');
SELECT is_empty($$
    SELECT c.conname FROM pg_catalog.pg_constraint AS c
     WHERE c.contype = 'f' AND c.conrelid = 'lp.ledger'::regclass
$$, 'lp.ledger has no foreign key: a key-share lock on hot wallet rows at every posting broke the lock protocol (api.verify_ledger proves the wallet reference instead)');
SELECT is_empty($$
    SELECT c.conname FROM pg_catalog.pg_constraint AS c
     WHERE c.contype = 'f' AND c.conrelid = 'lp.tips'::regclass AND c.confrelid = 'lp.users'::regclass
$$, 'lp.tips has no foreign key onto lp.users: a key-share lock on both user rows at every tip (migration 0048; api.verify_ledger proves the references instead)');
SELECT is_empty($$
    SELECT c.conrelid::regclass::text || ' ' || c.conname FROM pg_catalog.pg_constraint AS c
     WHERE c.contype = 'f' AND c.connamespace = 'lp'::regnamespace AND c.confdeltype = 'a'
$$, 'every foreign key in lp states its delete action (none is left at NO ACTION)');
SELECT is_empty($$
    SELECT c.conname FROM pg_catalog.pg_constraint AS c
     WHERE c.contype = 'f' AND (c.conrelid = 'lp.audit_logs'::regclass OR c.conrelid = 'lp.settings'::regclass)
$$, 'audit_logs and settings have no foreign keys (entries outlive the rows they mention)');

-- == Indexes the seed names ================================================================================
-- users by e-mail, username and role
SELECT has_index('lp', 'users', 'users_email_key', ARRAY['email'], 'users are indexed by e-mail');
SELECT index_is_unique('lp', 'users', 'users_email_key', 'e-mail is unique');
SELECT has_index('lp', 'users', 'users_username_key', ARRAY['username'], 'users are indexed by username');
SELECT index_is_unique('lp', 'users', 'users_username_key', 'username is unique');
SELECT is(
    (SELECT array_agg(pg_get_expr(i.indpred, i.indrelid) ORDER BY i.indexrelid::regclass::text)
       FROM pg_catalog.pg_index AS i
      WHERE i.indexrelid IN ('lp.users_email_key'::regclass, 'lp.users_username_key'::regclass)),
    ARRAY['(deleted_at IS NULL)', '(deleted_at IS NULL)'],
    'e-mail and username are unique among users that are not deleted only');
SELECT has_index('lp', 'users', 'users_role_idx', ARRAY['role', 'created_at'], 'users are indexed by role');
-- streams by host, status, category; live streams
SELECT has_index('lp', 'streams', 'streams_host_idx', ARRAY['host_id', 'created_at', 'id'], 'streams are indexed by host');
SELECT has_index('lp', 'streams', 'streams_status_idx', ARRAY['status', 'created_at'], 'streams are indexed by status');
SELECT has_index('lp', 'streams', 'streams_category_idx', ARRAY['category', 'status'], 'streams are indexed by category');
SELECT has_index('lp', 'streams', 'streams_live_idx', ARRAY['started_at'], 'live streams have their own index');
SELECT ok(pg_get_expr(i.indpred, i.indrelid) LIKE '%status = ''live''%', 'the live stream index covers live streams only')
  FROM pg_catalog.pg_index AS i WHERE i.indexrelid = 'lp.streams_live_idx'::regclass;
SELECT has_index('lp', 'streams', 'streams_one_live_per_host_key', ARRAY['host_id'], 'one live stream per host is indexed');
SELECT index_is_unique('lp', 'streams', 'streams_one_live_per_host_key', 'a host has at most one live stream');
-- history by user and date
SELECT has_index('lp', 'ledger', 'ledger_wallet_created_at_idx', ARRAY['wallet_id', 'created_at'], 'ledger history by wallet and date');
SELECT indexes_are('lp', 'ledger', ARRAY['ledger_pkey', 'ledger_transaction_idx', 'ledger_account_chain_idx',
                                         'ledger_wallet_created_at_idx', 'ledger_created_at_brin'],
                   'the ledger has the five indexes its reads need and no other (docs/ledger.md, "Indexes")');
SELECT has_index('lp', 'ledger', 'ledger_transaction_idx', ARRAY['transaction_id'], 'ledger entries by transaction');
SELECT is(pg_get_indexdef('lp.ledger_account_chain_idx'::regclass),
          'CREATE INDEX ledger_account_chain_idx ON ONLY lp.ledger USING btree (wallet_id, shard, id) INCLUDE (amount, balance_before, balance_after, created_at)',
          'the chain index carries every column the account pass of the verification reads (docs/ledger.md, "Verification")');
SELECT has_index('lp', 'tips', 'tips_sender_idx', ARRAY['sender_id', 'created_at'], 'tips by sender and date');
SELECT has_index('lp', 'tips', 'tips_idempotency_key_sender_id_key', ARRAY['idempotency_key', 'sender_id'],
                 'a tip''s key is claimed in an index that leads with the key (time-ordered keys land at its right edge; 0067)');
SELECT index_is_unique('lp', 'tips', 'tips_idempotency_key_sender_id_key', 'a key is unique per sender');
SELECT hasnt_index('lp', 'tips', 'tips_sender_id_idempotency_key_key', 'no second key index led by the sender');
SELECT is(pg_get_indexdef('lp.transfers_out_tip_key_idx'::regclass),
          'CREATE UNIQUE INDEX transfers_out_tip_key_idx ON lp.transfers_out USING btree (idempotency_key, sender_id) WHERE ((hold_id IS NULL) AND (refund_of IS NULL))',
          'a cross-shard tip''s key is claimed in a unique index that leads with the key (0068)');
SELECT has_index('lp', 'tips', 'tips_recipient_idx', ARRAY['recipient_id', 'created_at'], 'tips by recipient and date');
SELECT has_index('lp', 'payments', 'payments_user_idx', ARRAY['user_id', 'created_at'], 'payments by user and date');
SELECT has_index('lp', 'payouts', 'payouts_user_idx', ARRAY['user_id', 'created_at'], 'payouts by user and date');
SELECT has_index('lp', 'stream_viewers', 'stream_viewers_user_idx', ARRAY['user_id', 'joined_at'], 'viewing history by user and date');
SELECT has_index('lp', 'audit_logs', 'audit_logs_actor_idx', ARRAY['actor_id', 'occurred_at'], 'audit trail by actor and date');
-- moderation queues by status and priority
SELECT has_index('lp', 'reports', 'reports_queue_idx', ARRAY['status', 'priority_rank', 'created_at'], 'report queue by status and priority');
SELECT has_index('lp', 'moderation_flags', 'moderation_flags_queue_idx', ARRAY['status', 'priority_rank', 'created_at'], 'flag queue by status and priority');

-- == Fixtures for the constraint tests (as the superuser) =================================================
DO $$
DECLARE
    v_alice uuid := tests.create_user('alice', 'performer');
    v_bob   uuid := tests.create_user('bob');
BEGIN
    INSERT INTO lp.streams (id, host_id, title) VALUES ('00000000-0000-0000-0000-00000000005a', v_alice, 'fixture stream');
    INSERT INTO lp.kyc_verifications (id, user_id) VALUES ('00000000-0000-0000-0000-0000000000c1', v_alice);
    INSERT INTO lp.reports (id, reporter_id, reported_user_id, reason)
    VALUES ('00000000-0000-0000-0000-0000000000e1', v_bob, v_alice, 'spam');
END
$$;

-- == CHECK constraints (23514) and enum types (22P02, db/schema/08_vocabularies.sql) reject bad values =======
SELECT throws_ok($$UPDATE lp.users SET role = 'superuser' WHERE id = tests.user_id('bob')$$, '22P02', NULL,
                 'users.role rejects an unknown platform role (its enum type: 22P02)');
SELECT throws_ok($$UPDATE lp.user_preferences SET theme = 'neon' WHERE user_id = tests.user_id('bob')$$, '22P02', NULL,
                 'user_preferences.theme rejects an unknown theme (its enum type: 22P02)');
SELECT throws_ok($$UPDATE lp.user_preferences SET content_filter = 'none' WHERE user_id = tests.user_id('bob')$$, '22P02', NULL,
                 'user_preferences.content_filter rejects an unknown filter (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.auth_sessions (user_id, token_hash, expires_at, revoked_at, revoke_reason)
                   VALUES (tests.user_id('bob'), sha256('x'), now() + interval '1 hour', now(), 'bored')$$, '23514', NULL,
                 'auth_sessions.revoke_reason rejects an unknown reason');
SELECT throws_ok($$INSERT INTO lp.wallets (kind, system_code) VALUES ('escrow', 'escrow_one')$$, '23514', NULL,
                 'wallets.kind rejects an unknown kind');
SELECT throws_ok($$INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after,
                                          entry_kind, reference_type, reference_id)
                   SELECT gen_random_uuid(), w.id, 10, 0, 10, 'gift', 'adjustment', gen_random_uuid()
                     FROM lp.wallets AS w WHERE w.system_code = 'issuance'$$, '23514', NULL,
                 'ledger.entry_kind rejects an unknown kind');
SELECT throws_ok($$INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after,
                                          entry_kind, reference_type, reference_id)
                   SELECT gen_random_uuid(), w.id, 10, 0, 10, 'adjustment', 'invoice', gen_random_uuid()
                     FROM lp.wallets AS w WHERE w.system_code = 'issuance'$$, '23514', NULL,
                 'ledger.reference_type rejects an unknown type');
SELECT throws_ok($$INSERT INTO lp.streams (host_id, title, status) VALUES (tests.user_id('alice'), 't', 'paused')$$, '22P02', NULL,
                 'streams.status rejects an unknown status (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.streams (host_id, title, visibility) VALUES (tests.user_id('alice'), 't', 'secret')$$, '22P02', NULL,
                 'streams.visibility rejects an unknown visibility (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.tips (sender_id, recipient_id, amount, fee_amount, status, transaction_id, idempotency_key)
                   VALUES (tests.user_id('bob'), tests.user_id('alice'), 10, 1, 'pending', gen_random_uuid(), 'k1')$$, '23514', NULL,
                 'tips.status rejects an unknown status');
SELECT throws_ok($$INSERT INTO lp.payments (user_id, provider, tokens, amount_minor, status, idempotency_key)
                   VALUES (tests.user_id('bob'), 'stripe', 100, 100, 'lost', 'k1')$$, '22P02', NULL,
                 'payments.status rejects an unknown status (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.kyc_verifications (user_id, level) VALUES (tests.user_id('bob'), 'full')$$, '22P02', NULL,
                 'kyc_verifications.level rejects an unknown level (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.kyc_verifications (user_id, status) VALUES (tests.user_id('bob'), 'maybe')$$, '22P02', NULL,
                 'kyc_verifications.status rejects an unknown status (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.kyc_verifications (user_id, document_type) VALUES (tests.user_id('bob'), 'library_card')$$, '22P02', NULL,
                 'kyc_verifications.document_type rejects an unknown document (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, method, idempotency_key)
                   VALUES (tests.user_id('alice'), '00000000-0000-0000-0000-0000000000c1', 100, 100, 100, 'bitcoin', 'k1')$$, '22P02', NULL,
                 'payouts.method rejects an unknown method (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, method, status, idempotency_key)
                   VALUES (tests.user_id('alice'), '00000000-0000-0000-0000-0000000000c1', 100, 100, 100, 'paypal', 'sent', 'k1')$$, '22P02', NULL,
                 'payouts.status rejects an unknown status (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.reports (reported_user_id, reason) VALUES (tests.user_id('alice'), 'boring')$$, '22P02', NULL,
                 'reports.reason rejects an unknown reason (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.reports (reported_user_id, reason, status) VALUES (tests.user_id('alice'), 'spam', 'closed')$$, '22P02', NULL,
                 'reports.status rejects an unknown status (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.reports (reported_user_id, reason, priority) VALUES (tests.user_id('alice'), 'spam', 'urgent')$$, '23514', NULL,
                 'reports.priority rejects an unknown priority');
SELECT throws_ok($$INSERT INTO lp.moderation_flags (user_id, content_type, detector, category, confidence)
                   VALUES (tests.user_id('alice'), 'email', 'nsfw-v1', 'nudity', 0.5)$$, '22P02', NULL,
                 'moderation_flags.content_type rejects an unknown content type (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.moderation_flags (user_id, content_type, detector, category, confidence)
                   VALUES (tests.user_id('alice'), 'profile', 'nsfw-v1', 'cute', 0.5)$$, '22P02', NULL,
                 'moderation_flags.category rejects an unknown category (its enum type: 22P02)');
SELECT throws_ok($$INSERT INTO lp.moderation_flags (user_id, content_type, detector, category, confidence, status)
                   VALUES (tests.user_id('alice'), 'profile', 'nsfw-v1', 'nudity', 0.5, 'ignored')$$, '23514', NULL,
                 'moderation_flags.status rejects an unknown status');
SELECT throws_ok($$INSERT INTO lp.moderation_flags (user_id, content_type, detector, category, confidence, priority)
                   VALUES (tests.user_id('alice'), 'profile', 'nsfw-v1', 'nudity', 0.5, 'urgent')$$, '23514', NULL,
                 'moderation_flags.priority rejects an unknown priority');
SELECT throws_ok($$INSERT INTO lp.user_sanctions (user_id, sanction_type, reason) VALUES (tests.user_id('bob'), 'shadowban', 'x')$$, '22P02', NULL,
                 'user_sanctions.sanction_type rejects an unknown type (its enum type: 22P02)');

-- == Other CHECK constraints that keep money and history sane =============================================
SELECT throws_ok($$INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after,
                                          entry_kind, reference_type, reference_id)
                   SELECT gen_random_uuid(), w.id, 10, 0, 11, 'adjustment', 'adjustment', gen_random_uuid()
                     FROM lp.wallets AS w WHERE w.system_code = 'issuance'$$, '23514', NULL,
                 'ledger: balance_after must equal balance_before + amount');
SELECT throws_ok($$INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after,
                                          entry_kind, reference_type, reference_id)
                   SELECT gen_random_uuid(), w.id, 0, 0, 0, 'adjustment', 'adjustment', gen_random_uuid()
                     FROM lp.wallets AS w WHERE w.system_code = 'issuance'$$, '23514', NULL,
                 'ledger: an entry moves a non-zero amount');
SELECT throws_ok($$UPDATE lp.wallets SET balance = -1 WHERE user_id = tests.user_id('bob')$$, '23514', NULL,
                 'a user wallet cannot go negative');
SELECT throws_ok($$UPDATE lp.wallets SET balance = 10, reserved = 11 WHERE user_id = tests.user_id('bob')$$, '23514', NULL,
                 'a user wallet cannot reserve more than its balance');
SELECT lives_ok($$UPDATE lp.wallets SET balance = -1000 WHERE system_code = 'issuance'$$,
                'a system wallet (issuance) may go negative');
SELECT throws_ok($$INSERT INTO lp.wallets (kind, user_id, system_code) VALUES ('user', tests.user_id('alice'), 'mixed_up')$$, '23514', NULL,
                 'a user wallet has no system code');
SELECT throws_ok($$INSERT INTO lp.tips (sender_id, recipient_id, amount, fee_amount, transaction_id, idempotency_key)
                   VALUES (tests.user_id('bob'), tests.user_id('bob'), 10, 1, gen_random_uuid(), 'k1')$$, '23514', NULL,
                 'nobody tips themselves');
SELECT throws_ok($$INSERT INTO lp.tips (sender_id, recipient_id, amount, fee_amount, transaction_id, idempotency_key)
                   VALUES (tests.user_id('bob'), tests.user_id('alice'), 0, 0, gen_random_uuid(), 'k1')$$, '23514', NULL,
                 'a tip is positive');
SELECT throws_ok($$INSERT INTO lp.tips (sender_id, recipient_id, amount, fee_amount, transaction_id, idempotency_key)
                   VALUES (tests.user_id('bob'), tests.user_id('alice'), 10, 11, gen_random_uuid(), 'k1')$$, '23514', NULL,
                 'a tip fee cannot exceed the tip');
SELECT throws_ok($$INSERT INTO lp.user_sanctions (user_id, sanction_type, reason) VALUES (tests.user_id('bob'), 'suspension', 'x')$$, '23514', NULL,
                 'a suspension needs an end');
SELECT throws_ok($$UPDATE lp.users SET date_of_birth = DATE '1899-12-31' WHERE id = tests.user_id('bob')$$, '23514', NULL,
                 'users.date_of_birth is not before 1900');
SELECT throws_ok($$UPDATE lp.users SET email = 'not an address' WHERE id = tests.user_id('bob')$$, '23514', NULL,
                 'users.email must look like an address');
SELECT throws_ok($$UPDATE lp.users SET password_hash = 'plain text' WHERE id = tests.user_id('bob')$$, '23514', NULL,
                 'users.password_hash must be a bcrypt hash');
SELECT throws_ok($$INSERT INTO lp.audit_logs (action) VALUES ('Not A Verb')$$, '23514', NULL,
                 'audit_logs.action must be a dotted verb');

-- == Unique keys and delete actions, by behaviour ==========================================================
SELECT throws_ok($$UPDATE lp.users SET email = 'ALICE@example.com' WHERE id = tests.user_id('bob')$$, '23505', NULL,
                 'two active users cannot share an e-mail, whatever its case');
SELECT lives_ok($$UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('alice');
                  UPDATE lp.users SET email = 'ALICE@example.com' WHERE id = tests.user_id('bob');
                  UPDATE lp.users SET email = 'bob@example.com', deleted_at = NULL WHERE username = 'bob';
                  UPDATE lp.users SET deleted_at = NULL WHERE username = 'alice'$$,
                'a deleted user''s e-mail may be reused');
SELECT throws_ok($$DELETE FROM lp.users WHERE id = tests.user_id('bob')$$, '23503', NULL,
                 'a user with a wallet cannot be hard-deleted (wallets RESTRICT)');
SELECT lives_ok($$INSERT INTO lp.tips (sender_id, recipient_id, stream_id, amount, fee_amount, transaction_id, idempotency_key)
                  VALUES (tests.user_id('bob'), tests.user_id('alice'), '00000000-0000-0000-0000-00000000005a', 10, 1,
                          gen_random_uuid(), 'k-stream');
                  DELETE FROM lp.streams WHERE id = '00000000-0000-0000-0000-00000000005a'$$,
                'deleting a stream with tips works');
SELECT is((SELECT stream_id FROM lp.tips WHERE idempotency_key = 'k-stream'), NULL::uuid,
          'tips keep their money when the stream goes (stream_id SET NULL)');
SELECT is((SELECT count(*) FROM lp.reports WHERE id = '00000000-0000-0000-0000-0000000000e1'), 1::bigint,
          'reports survive the stream deletion too');
SELECT lives_ok($$SELECT set_config('tests.carl', tests.create_user('carl')::text, true);
                  INSERT INTO lp.auth_sessions (user_id, token_hash, expires_at)
                  VALUES (tests.user_id('carl'), sha256('carl session'), now() + interval '1 hour');
                  DELETE FROM lp.wallets WHERE user_id = tests.user_id('carl');
                  DELETE FROM lp.users WHERE id = tests.user_id('carl')$$,
                'a user without money rows can be hard-deleted');
SELECT is((SELECT count(*) FROM lp.user_preferences WHERE user_id = current_setting('tests.carl')::uuid)
        + (SELECT count(*) FROM lp.auth_sessions WHERE user_id = current_setting('tests.carl')::uuid), 0::bigint,
          'preferences and sessions cascade with a hard-deleted user');
SELECT throws_ok($$INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, method, idempotency_key)
                   VALUES (tests.user_id('alice'), '00000000-0000-0000-0000-0000000000c1', 100, 100, 100, 'paypal', 'p1');
                   DELETE FROM lp.kyc_verifications WHERE id = '00000000-0000-0000-0000-0000000000c1'$$, '23503', NULL,
                 'a KYC verification a payout relies on cannot be deleted (RESTRICT)');

-- == Time-ordered ids (lp.uuid_v7): tips and ledger transactions insert at the right edge of their indexes ======
SELECT col_default_is('lp', 'tips', 'id', 'lp.uuid_v7()', 'tip ids are time-ordered uuids');
SELECT is(substr(lp.uuid_v7()::text, 15, 1), '7', 'lp.uuid_v7: version nibble 7');
SELECT ok(substr(lp.uuid_v7()::text, 20, 1) IN ('8', '9', 'a', 'b'), 'lp.uuid_v7: RFC 9562 variant');
CREATE TEMPORARY TABLE v7 (n int, id uuid);
DO $$
BEGIN
    FOR i IN 1 .. 5 LOOP
        INSERT INTO v7 VALUES (i, lp.uuid_v7());
        PERFORM pg_sleep(0.002);
    END LOOP;
END
$$;
SELECT is((SELECT array_agg(n ORDER BY id) FROM v7), ARRAY[1, 2, 3, 4, 5],
          'lp.uuid_v7: ids made a few milliseconds apart sort in the order they were made');

SELECT * FROM finish();
ROLLBACK;
