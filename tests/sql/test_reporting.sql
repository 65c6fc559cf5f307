-- The reporting schema (issue 6, point 5 C): livepanty_readonly reads pseudonymised views, never raw PII.
--   * the probe: a victim's e-mail, username, display name, id, date of birth, IP address and KYC document
--     locations are in the data (also inside free text: tip message, report description, ledger description,
--     sanction reason, payment reference, audit details); no column of any reporting view contains any of them;
--   * pseudonyms: HMAC-SHA256 of the id keyed by lp.secrets 'pseudonym' (16 hex digits), the same in every view
--     (joins work), different per user; age bands; what else the views show;
--   * who may read: livepanty_readonly reads every view and nothing of lp (not the key, not a table, not the
--     pseudonym helper by name); the application and service roles read no reporting view.
-- Row counts against the tables and the raw-table refusals for every lp table are in test_rls.sql; the catalog
-- rules (definer views only in reporting, no PII-typed or PII-named column) in test_catalog_security.sql.
BEGIN;
SELECT plan(26);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()

-- Helpers of this file.
-- Every row of every reporting view, as text (all its columns), under the current role.
CREATE FUNCTION tests.reporting_rows() RETURNS TABLE (view_name text, row_text text)
    LANGUAGE plpgsql AS $$
DECLARE
    v_view name;
BEGIN
    FOR v_view IN SELECT c.relname FROM pg_catalog.pg_class AS c
                   WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind = 'v' ORDER BY c.relname
    LOOP
        RETURN QUERY EXECUTE format('SELECT %L::text, v::text FROM reporting.%I AS v', v_view, v_view);
    END LOOP;
END
$$;
-- The reporting pseudonym of an id, computed here from the key (independently of lp.pseudonym).
CREATE FUNCTION tests.expected_pseudonym(p_id text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT left(encode(ext.hmac(convert_to('lp-pseudonym-v1|' || p_id, 'UTF8'), s.value, 'sha256'), 'hex'), 16)
      FROM lp.secrets AS s WHERE s.name = 'pseudonym'
$$;
CREATE FUNCTION tests.expected_pseudonym(p_id uuid) RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT tests.expected_pseudonym(p_id::text) $$;

-- == Fixture: the victim zoe_victim and everything the platform keeps about her ============================
DO $$
DECLARE
    v_zoe    uuid;
    v_s1     uuid := gen_random_uuid();
    v_tip    uuid := gen_random_uuid();
    v_kyc    uuid;
    v_wallet uuid;
BEGIN
    v_zoe := (api.register_user('Zoe.Victim@example.org', 'zoe_victim', tests.password(), DATE '1987-06-05',
                                'performer', 'Zoe Quintessa Victim', 'NL', '198.51.100.77')).id;
    PERFORM tests.create_user('pia', 'performer', p_verified => false);
    PERFORM tests.create_user('adam', 'admin');
    PERFORM api.register_user('young@example.org', 'young', tests.password(), (current_date - interval '18 years')::date);
    PERFORM api.register_user('thirty@example.org', 'thirty', tests.password(), (current_date - interval '30 years 1 day')::date);
    PERFORM api.register_user('senior@example.org', 'senior', tests.password(), (current_date - interval '70 years')::date);
    PERFORM api.login('zoe_victim', tests.password(), '198.51.100.77', 'Mozilla/5.0 (zoe_victim laptop)');
    INSERT INTO lp.password_reset_tokens (user_id, token_hash, requested_ip, expires_at)
    VALUES (v_zoe, ext.digest('t', 'sha256'), '198.51.100.77', now() + interval '1 hour');

    INSERT INTO lp.streams (id, host_id, title, description, status, visibility, started_at)
    VALUES (v_s1, tests.user_id('pia'), 'shout-out to zoe_victim', 'zoe.victim@example.org watches', 'live', 'public', now());
    INSERT INTO lp.stream_viewers (stream_id, user_id, ip_address) VALUES (v_s1, v_zoe, '198.51.100.77');
    INSERT INTO lp.tips (id, sender_id, recipient_id, stream_id, amount, fee_amount, message, is_anonymous,
                         transaction_id, idempotency_key)
    VALUES (v_tip, v_zoe, tests.user_id('pia'), v_s1, 100, 20, 'write to zoe.victim@example.org', true, v_tip, 'k-zoe_victim');
    SELECT w.id INTO v_wallet FROM lp.wallets AS w WHERE w.user_id = v_zoe;
    INSERT INTO lp.ledger (transaction_id, wallet_id, amount, balance_before, balance_after, entry_kind, reference_type,
                           reference_id, description)
    VALUES (v_tip, v_wallet, -100, 0, -100, 'tip', 'tip', v_tip, 'tip by zoe_victim (Zoe.Victim@example.org)');
    INSERT INTO lp.payments (user_id, provider, provider_reference, tokens, amount_minor, status, idempotency_key,
                             failure_reason)
    VALUES (v_zoe, 'stripe', 'ch_zoe.victim@example.org', 500, 500, 'failed', 'pay-zoe_victim', 'card of Zoe Quintessa Victim declined');

    PERFORM tests.authenticate_as('zoe_victim');
    v_kyc := (api.submit_kyc('identity', 'passport', 'NL', 's3://kyc-docs/zoe_victim/front.jpg',
                             's3://kyc-docs/zoe_victim/back.jpg', 's3://kyc-docs/zoe_victim/selfie.jpg',
                             'manual', 'ref-zoe_victim')).id;
    PERFORM tests.authenticate_as('adam');
    PERFORM api.approve_kyc(v_kyc, TIMESTAMPTZ '2097-08-17 00:00+00', DATE '1987-06-05');
    PERFORM api.adjust_balance(v_zoe, 5, 'goodwill for zoe_victim (Zoe.Victim@example.org)', 'adj-zoe');
    PERFORM api.sanction_user(v_zoe, 'warning', 'zoe_victim, born 1987-06-05, shared 198.51.100.77');
    PERFORM tests.clear_authentication();

    INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, method, status,
                            reviewed_by, reviewed_at, rejection_reason, idempotency_key)
    VALUES (v_zoe, v_kyc, 5000, 100, 5000, 'paypal', 'rejected', tests.user_id('adam'), now(),
            'paypal account Zoe.Victim@example.org does not match', 'po-zoe_victim');
    INSERT INTO lp.reports (reporter_id, reported_user_id, reason, description, resolution)
    VALUES (v_zoe, tests.user_id('pia'), 'harassment', 'I am zoe_victim, mail me at Zoe.Victim@example.org',
            'called Zoe Quintessa Victim');
    INSERT INTO lp.moderation_flags (stream_id, user_id, content_type, content_ref, detector, category, confidence,
                                     details, review_notes)
    VALUES (v_s1, v_zoe, 'profile', 's3://kyc-docs/zoe_victim/front.jpg', 'nsfw-v1', 'other', 0.5,
            '{"ip": "198.51.100.77"}', 'zoe_victim again');
    INSERT INTO lp.holds (user_id, wallet_id, payee_id, purpose, amount, expires_at, idempotency_key)
    VALUES (v_zoe, v_wallet, tests.user_id('pia'), 'private_show', 10, now() + interval '1 hour', 'hold-zoe_victim');
    PERFORM lp.audit('test.probe', 'user', v_zoe::text,
                     jsonb_build_object('email', 'Zoe.Victim@example.org', 'dob', '1987-06-05'), '198.51.100.77', v_zoe);
END
$$;
-- What must never show: every way to name or find the victim.
CREATE TABLE tests.needles AS
SELECT n FROM unnest(ARRAY['zoe.victim@example.org', 'zoe_victim', 'Zoe Quintessa Victim', '1987-06-05',
                           '198.51.100.77', 's3://kyc-docs', tests.user_id('zoe_victim')::text]) AS n;
GRANT SELECT ON tests.needles TO PUBLIC;

-- == The probe =============================================================================================
SELECT tests.authenticate_as(NULL, 'livepanty_readonly');
SELECT isnt_empty($$SELECT 1 FROM tests.reporting_rows() WHERE view_name = 'users'$$,
                  'probe: livepanty_readonly reads the reporting views (the scan below is not vacuous)');
SELECT is_empty($$SELECT DISTINCT r.view_name || ': ' || n.n
                    FROM tests.reporting_rows() AS r CROSS JOIN tests.needles AS n
                   WHERE strpos(lower(r.row_text), lower(n.n)) > 0$$,
                'probe: no column of any reporting view holds the victim''s e-mail, username, display name, date of birth, IP, KYC document location or id');
SELECT is_empty($$SELECT DISTINCT r.view_name FROM tests.reporting_rows() AS r
                   WHERE r.row_text ~* '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'$$,
                'probe: no reporting view shows any raw uuid (every id is a pseudonym)');
SELECT is_empty($$SELECT DISTINCT r.view_name FROM tests.reporting_rows() AS r
                   WHERE r.row_text ~ '\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}' OR r.row_text ~* '[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}'$$,
                'probe: no reporting view shows anything that looks like an IP address or an e-mail address');

-- == Pseudonyms ============================================================================================
SELECT tests.authenticate_as(NULL, 'livepanty_readonly');
SELECT is((SELECT count(*) FROM reporting.users WHERE id !~ '^[0-9a-f]{16}$'), 0::bigint,
          'pseudonyms: every user is shown as 16 hex digits');
SELECT is((SELECT count(DISTINCT id) FROM reporting.users), (SELECT count(*) FROM reporting.users),
          'pseudonyms: one per user (no collision)');
SELECT ok(EXISTS (SELECT 1 FROM reporting.users WHERE id = tests.expected_pseudonym(tests.user_id('zoe_victim'))),
          'pseudonyms: HMAC-SHA256 of the id keyed by lp.secrets ''pseudonym'' (stable: recomputed here from the key)');
SELECT is((SELECT count(DISTINCT p) FROM (
              SELECT sender_id FROM reporting.tips
              UNION ALL SELECT user_id FROM reporting.stream_viewers
              UNION ALL SELECT user_id FROM reporting.kyc_verifications
              UNION ALL SELECT user_id FROM reporting.payouts
              UNION ALL SELECT user_id FROM reporting.payments
              UNION ALL SELECT user_id FROM reporting.user_sanctions
              UNION ALL SELECT user_id FROM reporting.adjustments
              UNION ALL SELECT user_id FROM reporting.holds
              UNION ALL SELECT user_id FROM reporting.moderation_flags
              UNION ALL SELECT reporter_id FROM reporting.reports
              UNION ALL SELECT actor_id FROM reporting.audit_logs WHERE action = 'test.probe'
              UNION ALL SELECT target_id FROM reporting.audit_logs WHERE action = 'test.probe'
              UNION ALL SELECT w.user_id FROM reporting.wallets AS w JOIN reporting.ledger AS l ON l.wallet_id = w.id
            ) AS x (p)), 1::bigint,
          'pseudonyms: the victim has the same pseudonym in every view (reports join on it)');
SELECT is((SELECT u.role FROM reporting.users AS u JOIN reporting.tips AS t ON t.sender_id = u.id), 'performer',
          'pseudonyms: views join like the tables (the anonymous tipper''s role through reporting.users)');
SELECT is((SELECT reviewed_by FROM reporting.kyc_verifications), tests.expected_pseudonym(tests.user_id('adam')),
          'pseudonyms: staff ids are pseudonyms too (the KYC reviewer)');
SELECT is((SELECT count(*) FROM reporting.ledger AS l JOIN reporting.tips AS t ON t.id = l.reference_id
            WHERE l.reference_type = 'tip'), 1::bigint,
          'pseudonyms: record ids are pseudonymised the same way (ledger.reference_id joins tips.id)');

-- Numbered records too: the application shows a ledger entry's, a viewing session's and an audit row's number
-- (api.wallet_history, the user's own viewing sessions, hosts, admins), so a raw number would link a support
-- ticket to the person's pseudonym.
SELECT tests.clear_authentication();
CREATE TABLE tests.numbered AS
SELECT 'ledger' AS view_name, tests.expected_pseudonym(l.id::text) AS expected
  FROM lp.ledger AS l WHERE l.reference_type = 'tip'
UNION ALL SELECT 'stream_viewers', tests.expected_pseudonym(v.id::text) FROM lp.stream_viewers AS v
UNION ALL SELECT 'audit_logs', tests.expected_pseudonym(a.id::text) FROM lp.audit_logs AS a WHERE a.action = 'test.probe';
GRANT SELECT ON tests.numbered TO PUBLIC;
SELECT tests.authenticate_as(NULL, 'livepanty_readonly');
SELECT set_eq($$SELECT 'ledger', l.id::text FROM reporting.ledger AS l WHERE l.reference_type = 'tip'
                UNION ALL SELECT 'stream_viewers', v.id::text FROM reporting.stream_viewers AS v
                UNION ALL SELECT 'audit_logs', a.id::text FROM reporting.audit_logs AS a WHERE a.action = 'test.probe'$$,
              $$SELECT view_name, expected FROM tests.numbered$$,
              'pseudonyms: numbered records (ledger entries, viewing sessions, audit rows) are shown by pseudonym, not by number');

-- == What the views show ===================================================================================
SELECT set_eq($$SELECT age_band FROM reporting.users WHERE role = 'viewer'$$, ARRAY['18-24', '25-34', '65+'],
              'users: an age band instead of the date of birth (18 today, 30 and a day, 70)');
SELECT results_eq($$SELECT role::text, created_on = current_date, last_login_on = current_date, is_deleted
                      FROM reporting.users WHERE id = tests.expected_pseudonym(tests.user_id('zoe_victim'))$$,
                  $$VALUES ('performer', true, true, false)$$,
                  'users: role, the dates of sign-up and last login, not deleted');
SELECT results_eq($$SELECT status::text, level::text, document_type::text FROM reporting.kyc_verifications$$,
                  $$VALUES ('approved', 'identity', 'passport')$$,
                  'kyc_verifications: status, level::text, document type');
-- A document's issuing country and exact expiry date narrow its holder down (docs/reporting.md): neither is shown,
-- in any form (the passport was issued in NL and expires on 2097-08-17).
SELECT is_empty($$SELECT e.key || ' = ' || e.value
                    FROM reporting.kyc_verifications AS v CROSS JOIN LATERAL jsonb_each_text(to_jsonb(v)) AS e
                   WHERE e.value = 'NL' OR e.value LIKE '%2097-%' OR e.value = '2097'$$,
                'kyc_verifications: neither the document''s issuing country nor its expiry');
SELECT results_eq($$SELECT amount, fee_amount, is_anonymous FROM reporting.tips$$, $$VALUES (100::bigint, 20::bigint, true)$$,
                  'tips: amounts and the anonymous flag, every tip');
SELECT results_eq($$SELECT action, target_type FROM reporting.audit_logs WHERE action = 'test.probe'$$,
                  $$VALUES ('test.probe', 'user')$$, 'audit_logs: who did what to what (no IP, no details)');

SELECT tests.clear_authentication();
UPDATE lp.users SET deleted_at = now() WHERE id = tests.user_id('senior');
SELECT tests.authenticate_as(NULL, 'livepanty_readonly');
SELECT is((SELECT count(*) FROM reporting.users WHERE is_deleted), 1::bigint, 'users: deleted users stay, flagged');

-- An erased user's date of birth is gone (lp.erase_personal_data writes the lowest one the table allows,
-- 1900-01-01, as it does for a stub of another shard's user): no age band, not 65+.
SELECT tests.clear_authentication();
CREATE TABLE tests.erased AS SELECT tests.expected_pseudonym(tests.user_id('thirty')) AS id;
GRANT SELECT ON tests.erased TO PUBLIC;
SELECT tests.authenticate_as('adam');
SELECT api.erase_user(tests.user_id('thirty'), 'asked to be forgotten');
SELECT tests.authenticate_as(NULL, 'livepanty_readonly');
SELECT results_eq($$SELECT age_band, is_deleted FROM reporting.users WHERE id = (SELECT id FROM tests.erased)$$,
                  $$VALUES (NULL::text, true)$$,
                  'users: an erased user has no age band (the date of birth is erased), and is deleted');
SELECT set_eq($$SELECT age_band FROM reporting.users WHERE role = 'viewer' AND NOT is_deleted$$, ARRAY['18-24'],
              'users: the others keep theirs');

-- == Who may read ==========================================================================================
SELECT throws_ok($$SELECT value FROM lp.secrets$$, '42501', NULL, 'livepanty_readonly: the pseudonym key is not readable');
SELECT throws_ok($$SELECT email FROM lp.users$$, '42501', NULL, 'livepanty_readonly: lp.users is not readable (the views are)');
SELECT throws_ok(format('SELECT lp.pseudonym(%L, %L::bytea)', tests.user_id('zoe_victim'), '\x00'), '42501', NULL,
                 'livepanty_readonly: cannot even name the pseudonym helper (no USAGE on schema lp)');
SELECT tests.authenticate_as('adam');
SELECT throws_ok($$SELECT * FROM reporting.users$$, '42501', NULL, 'livepanty_app (even an admin): no reporting view');
SELECT tests.authenticate_as('adam', 'livepanty_service');
SELECT throws_ok($$SELECT * FROM reporting.tips$$, '42501', NULL, 'livepanty_service: no reporting view');

SELECT tests.clear_authentication();
SELECT * FROM finish();
ROLLBACK;
