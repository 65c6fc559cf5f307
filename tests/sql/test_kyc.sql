-- KYC (minimal workflow that payouts need): api.submit_kyc, api.approve_kyc, api.reject_kyc, api.get_kyc_status,
-- api.list_pending_kyc and lp.approved_kyc, with every rejection, its SQLSTATE and "nothing changed".
-- Calls run as livepanty_app with the acting user set for the transaction (tests.authenticate_as).
BEGIN;
SELECT plan(125);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   10_scratch.sql:  tests.remember, tests.id
--   20_money.sql:    tests.audits

-- Helpers of this file.
-- Everything a KYC function may write: the verifications, the users' age_verified_at, the audit log.
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT md5(coalesce((SELECT string_agg(k::text, '|' ORDER BY k.id) FROM lp.kyc_verifications AS k), '')
               || coalesce((SELECT string_agg(u.id::text || coalesce(u.age_verified_at::text, '-'), '|' ORDER BY u.id)
                              FROM lp.users AS u), '')
               || (SELECT count(*) FROM lp.audit_logs)::text)
$$;
-- throws_ok plus "nothing changed": two assertions.
CREATE FUNCTION tests.approved_kyc(p_username text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT (lp.approved_kyc(tests.user_id(p_username))).id
$$;
-- A submission with valid defaults; each argument can be overridden by name.
CREATE FUNCTION tests.submit_sql(p_level text DEFAULT 'identity', p_type text DEFAULT 'passport',
                                 p_country text DEFAULT 'DE', p_front text DEFAULT 's3://kyc-docs/front.jpg',
                                 p_back text DEFAULT NULL, p_selfie text DEFAULT NULL,
                                 p_provider text DEFAULT 'manual', p_reference text DEFAULT NULL) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT format('SELECT api.submit_kyc(%L, %L, %L, %L, %L, %L, %L, %L)',
                  p_level, p_type, p_country, p_front, p_back, p_selfie, p_provider, p_reference)
$$;

DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer', false);
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('mona', 'moderator');
END
$$;

-- == api.submit_kyc ========================================================================================
SELECT tests.authenticate_as(NULL);
SELECT * FROM tests.rejects(tests.submit_sql(), 'LP001', 'submit_kyc: nobody acting is LP001');

SELECT tests.authenticate_as('pia');
SELECT results_eq(
    $$SELECT user_id, level::text, status::text, provider, provider_reference, document_type::text, document_country,
             document_front_url, document_back_url, selfie_url, submitted_at, reviewed_at, reviewed_by, expires_at
        FROM api.submit_kyc('identity', 'passport', ' de ', ' s3://kyc-docs/pia/front.jpg ',
                            's3://kyc-docs/pia/back.jpg', 's3://kyc-docs/pia/selfie.jpg', 'manual', ' ticket 42 ')$$,
    format($$VALUES (%L::uuid, 'identity', 'submitted', 'manual', 'ticket 42', 'passport', 'DE',
                     's3://kyc-docs/pia/front.jpg', 's3://kyc-docs/pia/back.jpg', 's3://kyc-docs/pia/selfie.jpg',
                     now(), NULL::timestamptz, NULL::uuid, NULL::timestamptz)$$, tests.user_id('pia')),
    'submit_kyc: a performer submits an identity verification (country upper-cased, text trimmed), pending');
SELECT tests.clear_authentication();
SELECT tests.remember('pia1', (SELECT id FROM lp.kyc_verifications WHERE user_id = tests.user_id('pia')));
SELECT is(tests.audits('kyc.submit', tests.id('pia1')), 1::bigint, 'submit_kyc: audited as kyc.submit');
SELECT is((SELECT actor_id FROM lp.audit_logs WHERE action = 'kyc.submit'), tests.user_id('pia'),
          'submit_kyc: the audit names the submitter');

SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(tests.submit_sql(), 'LP004', 'submit_kyc: a second submission while one is pending is LP004');
SELECT * FROM tests.rejects(tests.submit_sql(p_level => 'age'), 'LP004',
                            'submit_kyc: also of another level (one pending verification at a time)');

SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(tests.submit_sql(p_level => 'full'), 'LP018', 'submit_kyc: an unknown level is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_level => NULL), 'LP018', 'submit_kyc: a NULL level is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_type => 'library_card'), 'LP018', 'submit_kyc: an unknown document type is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_type => NULL), 'LP018', 'submit_kyc: a missing document type is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_country => 'DEU'), 'LP018', 'submit_kyc: a three-letter country is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_country => 'D1'), 'LP018', 'submit_kyc: a country with a digit is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_country => ''), 'LP018', 'submit_kyc: a missing country is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_front => NULL), 'LP018', 'submit_kyc: a missing front image is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_front => 'https://cdn.example.com/front.jpg'), 'LP018',
                            'submit_kyc: a front image outside s3:// is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_front => 's3://Bad_Bucket/front.jpg'), 'LP018',
                            'submit_kyc: an invalid bucket name is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_front => 's3://kyc-docs/'), 'LP018', 'submit_kyc: an s3 location without a key is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_front => 's3://kyc-docs/' || repeat('x', 2040)), 'LP018',
                            'submit_kyc: a location over 2048 characters is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_back => 'ftp://kyc-docs/back.jpg'), 'LP018', 'submit_kyc: a bad back image location is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_selfie => '/tmp/selfie.jpg'), 'LP018', 'submit_kyc: a bad selfie location is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_provider => 'Manual!'), 'LP018', 'submit_kyc: a malformed provider is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_provider => NULL), 'LP018', 'submit_kyc: a NULL provider is LP018');
SELECT * FROM tests.rejects(tests.submit_sql(p_reference => repeat('r', 256)), 'LP018',
                            'submit_kyc: a provider reference over 255 characters is LP018');
SELECT lives_ok(tests.submit_sql(p_level => 'age', p_type => 'drivers_license', p_country => 'US', p_provider => 'veriff',
                                 p_reference => 'vf-1'),
                'submit_kyc: a viewer submits an age verification through a provider');
SELECT tests.clear_authentication();
SELECT tests.remember('vic1', (SELECT id FROM lp.kyc_verifications WHERE user_id = tests.user_id('vic')));

SELECT tests.authenticate_as('adam');
SELECT lives_ok(tests.submit_sql(p_type => 'national_id', p_country => 'FR'), 'submit_kyc: an admin may submit their own');
SELECT tests.clear_authentication();
SELECT tests.remember('adam1', (SELECT id FROM lp.kyc_verifications WHERE user_id = tests.user_id('adam')));

-- == api.get_kyc_status ====================================================================================
SELECT tests.authenticate_as('pia');
SELECT results_eq('SELECT id, status::text FROM api.get_kyc_status()', format($$VALUES (%L::uuid, 'submitted')$$, tests.id('pia1')),
                  'get_kyc_status: the acting user''s latest verification');
SELECT throws_ok(format('SELECT * FROM api.get_kyc_status(%L)', tests.user_id('vic')), 'LP002', NULL,
                 'get_kyc_status: another user''s is LP002 for a performer');
SELECT tests.authenticate_as('mona');
SELECT throws_ok(format('SELECT * FROM api.get_kyc_status(%L)', tests.user_id('vic')), 'LP002', NULL,
                 'get_kyc_status: and for a moderator (documents are for admins)');
SELECT is_empty('SELECT * FROM api.get_kyc_status()', 'get_kyc_status: no row for a user who never submitted');
SELECT tests.authenticate_as('ada');
SELECT results_eq(format('SELECT id, user_id FROM api.get_kyc_status(%L)', tests.user_id('pia')),
                  format('VALUES (%L::uuid, %L::uuid)', tests.id('pia1'), tests.user_id('pia')),
                  'get_kyc_status: an admin reads any user''s');
SELECT tests.authenticate_as(NULL);
SELECT throws_ok('SELECT * FROM api.get_kyc_status()', 'LP001', NULL, 'get_kyc_status: nobody acting is LP001');

-- == api.list_pending_kyc ==================================================================================
SELECT tests.authenticate_as('ada');
SELECT results_eq('SELECT id FROM api.list_pending_kyc()',
                  $$SELECT id FROM tests.ids WHERE name IN ('pia1', 'vic1', 'adam1') ORDER BY id$$,
                  'list_pending_kyc: every pending verification, oldest first (same submission time: by id)');
SELECT results_eq(format('SELECT id FROM api.list_pending_kyc(%L, 2)',
                         (SELECT id FROM tests.ids WHERE name IN ('pia1', 'vic1', 'adam1') ORDER BY id LIMIT 1)),
                  $$SELECT id FROM tests.ids WHERE name IN ('pia1', 'vic1', 'adam1') ORDER BY id OFFSET 1$$,
                  'list_pending_kyc: keyset pagination continues after the cursor');
SELECT is((SELECT count(*) FROM api.list_pending_kyc(NULL, 1)), 1::bigint, 'list_pending_kyc: p_limit caps the page');
SELECT throws_ok('SELECT * FROM api.list_pending_kyc(NULL, 0)', 'LP018', NULL, 'list_pending_kyc: a limit of 0 is LP018');
SELECT throws_ok('SELECT * FROM api.list_pending_kyc(NULL, 1001)', 'LP018', NULL, 'list_pending_kyc: a limit over 1000 is LP018');
SELECT throws_ok(format('SELECT * FROM api.list_pending_kyc(%L)', gen_random_uuid()), 'LP018', NULL,
                 'list_pending_kyc: an unknown cursor is LP018');
SELECT tests.authenticate_as('mona');
SELECT throws_ok('SELECT * FROM api.list_pending_kyc()', 'LP002', NULL, 'list_pending_kyc: a moderator is LP002');
SELECT tests.authenticate_as('pia');
SELECT throws_ok('SELECT * FROM api.list_pending_kyc()', 'LP002', NULL, 'list_pending_kyc: a performer is LP002');

-- == api.approve_kyc =======================================================================================
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L)', tests.id('pia1')), 'LP002',
                            'approve_kyc: a performer approving (their own) is LP002');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L)', tests.id('pia1')), 'LP002', 'approve_kyc: a moderator is LP002');
SELECT tests.authenticate_as(NULL);
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L)', tests.id('pia1')), 'LP001', 'approve_kyc: nobody acting is LP001');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L)', gen_random_uuid()), 'LP003', 'approve_kyc: an unknown verification is LP003');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L)', tests.id('adam1')), 'LP002',
                            'approve_kyc: an admin approving their own verification is LP002');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L, now() - interval ''1 day'')', tests.id('pia1')), 'LP018',
                            'approve_kyc: an expiry in the past is LP018');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L, NULL, current_date + 1)', tests.id('pia1')), 'LP014',
                            'approve_kyc: a verified date of birth in the future is LP014');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L, NULL, DATE ''1899-12-31'')', tests.id('pia1')), 'LP014',
                            'approve_kyc: a verified date of birth before 1900 is LP014');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L, NULL, DATE ''1900-01-01'')', tests.id('pia1')), 'LP014',
                            'approve_kyc: a verified date of birth on 1900-01-01 (the erasure''s marker) is LP014');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L, NULL, (current_date - interval ''17 years'')::date)', tests.id('pia1')),
                            'LP013', 'approve_kyc: a verified date of birth under the minimum age is LP013');
SELECT is(tests.approved_kyc('pia'), NULL, 'lp.approved_kyc: a pending verification does not count');

SELECT results_eq(
    format($$SELECT id, status::text, reviewed_by, reviewed_at, expires_at, verified_date_of_birth, rejection_reason
               FROM api.approve_kyc(%L, now() + interval '1 year', DATE '1990-01-01')$$, tests.id('pia1')),
    format($$VALUES (%L::uuid, 'approved', %L::uuid, now(), now() + interval '1 year', NULL::date, NULL::text)$$,
           tests.id('pia1'), tests.user_id('adam')),
    'approve_kyc: an admin approves a pending verification (reviewer, time, expiry; the verified birth date is not returned to an admin)');
SELECT tests.clear_authentication();
SELECT is((SELECT verified_date_of_birth FROM lp.kyc_verifications WHERE id = tests.id('pia1')), DATE '1990-01-01',
          'approve_kyc: the verified birth date is recorded');
SELECT is((SELECT age_verified_at FROM lp.users WHERE id = tests.user_id('pia')), now(), 'approve_kyc: sets the user''s age_verified_at');
SELECT is(tests.audits('kyc.approve', tests.id('pia1')), 1::bigint, 'approve_kyc: audited as kyc.approve');
SELECT is((SELECT actor_id FROM lp.audit_logs WHERE action = 'kyc.approve'), tests.user_id('adam'), 'approve_kyc: by the reviewing admin');
SELECT is(tests.approved_kyc('pia'), tests.id('pia1'), 'lp.approved_kyc: the approved identity verification counts');

SELECT tests.authenticate_as('ada');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L)', tests.id('pia1')), 'LP004', 'approve_kyc: approving twice is LP004');
SELECT * FROM tests.rejects(format('SELECT api.reject_kyc(%L, ''late'')', tests.id('pia1')), 'LP004',
                            'reject_kyc: rejecting an approved verification is LP004');
SELECT tests.authenticate_as('pia');
SELECT results_eq('SELECT id, status::text FROM api.get_kyc_status()', format($$VALUES (%L::uuid, 'approved')$$, tests.id('pia1')),
                  'get_kyc_status: now approved');
SELECT tests.authenticate_as('ada');
SELECT results_eq('SELECT id FROM api.list_pending_kyc()',
                  $$SELECT id FROM tests.ids WHERE name IN ('vic1', 'adam1') ORDER BY id$$,
                  'list_pending_kyc: an approved verification leaves the queue');

-- == api.reject_kyc ========================================================================================
SELECT tests.authenticate_as('ada');
SELECT * FROM tests.rejects(format('SELECT api.reject_kyc(%L, ''  '')', tests.id('adam1')), 'LP018', 'reject_kyc: a blank reason is LP018');
SELECT * FROM tests.rejects(format('SELECT api.reject_kyc(%L, NULL)', tests.id('adam1')), 'LP018', 'reject_kyc: a NULL reason is LP018');
SELECT * FROM tests.rejects(format('SELECT api.reject_kyc(%L, repeat(''x'', 1001))', tests.id('adam1')), 'LP018',
                            'reject_kyc: a reason over 1000 characters is LP018');
SELECT * FROM tests.rejects(format('SELECT api.reject_kyc(%L, ''who'')', gen_random_uuid()), 'LP003', 'reject_kyc: an unknown verification is LP003');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.reject_kyc(%L, ''mine'')', tests.id('adam1')), 'LP002',
                            'reject_kyc: an admin rejecting their own verification is LP002');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format('SELECT api.reject_kyc(%L, ''no'')', tests.id('adam1')), 'LP002', 'reject_kyc: a viewer is LP002');
SELECT tests.authenticate_as(NULL);
SELECT * FROM tests.rejects(format('SELECT api.reject_kyc(%L, ''no'')', tests.id('adam1')), 'LP001', 'reject_kyc: nobody acting is LP001');

SELECT tests.authenticate_as('ada');
SELECT results_eq(
    format($$SELECT id, status::text, reviewed_by, reviewed_at, rejection_reason, expires_at FROM api.reject_kyc(%L, ' blurry photo ')$$,
           tests.id('adam1')),
    format($$VALUES (%L::uuid, 'declined', %L::uuid, now(), 'blurry photo', NULL::timestamptz)$$, tests.id('adam1'), tests.user_id('ada')),
    'reject_kyc: another admin rejects it with a reason (trimmed)');
SELECT tests.clear_authentication();
SELECT is(tests.audits('kyc.reject', tests.id('adam1')), 1::bigint, 'reject_kyc: audited as kyc.reject');
SELECT is((SELECT age_verified_at FROM lp.users WHERE id = tests.user_id('adam')), NULL, 'reject_kyc: age_verified_at stays unset');
SELECT is(tests.approved_kyc('adam'), NULL, 'lp.approved_kyc: a rejected verification does not count');
SELECT tests.authenticate_as('ada');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L)', tests.id('adam1')), 'LP004', 'approve_kyc: a rejected verification is LP004');
SELECT * FROM tests.rejects(format('SELECT api.reject_kyc(%L, ''again'')', tests.id('adam1')), 'LP004', 'reject_kyc: rejecting twice is LP004');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(tests.submit_sql(p_front => 's3://kyc-docs/adam/front-2.jpg'), 'submit_kyc: after a rejection the user may submit again');
SELECT results_eq('SELECT status::text, document_front_url FROM api.get_kyc_status()',
                  $$VALUES ('submitted', 's3://kyc-docs/adam/front-2.jpg')$$, 'get_kyc_status: the latest submission');

-- == lp.approved_kyc: level and expiry =====================================================================
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.approve_kyc(%L)', tests.id('vic1')), 'approve_kyc: without expiry or birth date');
SELECT tests.clear_authentication();
SELECT is(tests.approved_kyc('vic'), NULL, 'lp.approved_kyc: an approved age-level verification does not count');
SELECT isnt((SELECT age_verified_at FROM lp.users WHERE id = tests.user_id('vic')), NULL, 'approve_kyc: an age verification sets age_verified_at');

-- pia's approval expires (documents expire): set directly, as time cannot pass in a test.
UPDATE lp.kyc_verifications SET expires_at = now() - interval '1 second' WHERE id = tests.id('pia1');
SELECT is(tests.approved_kyc('pia'), NULL, 'lp.approved_kyc: an expired approval does not count');
SELECT tests.authenticate_as('pia');
SELECT results_eq('SELECT id, status::text FROM api.get_kyc_status()', format($$VALUES (%L::uuid, 'expired')$$, tests.id('pia1')),
                  'get_kyc_status: an approval past its expiry is reported as expired');
SELECT lives_ok(tests.submit_sql(p_front => 's3://kyc-docs/pia/renewal.jpg'), 'submit_kyc: a renewal after expiry');
SELECT tests.clear_authentication();
SELECT tests.remember('pia2', (SELECT id FROM lp.kyc_verifications WHERE user_id = tests.user_id('pia') AND status = 'submitted'));
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.approve_kyc(%L)', tests.id('pia2')), 'approve_kyc: the renewal is approved (no expiry)');
SELECT tests.clear_authentication();
SELECT is(tests.approved_kyc('pia'), tests.id('pia2'), 'lp.approved_kyc: the latest unexpired approval counts');

-- == privileges ============================================================================================
SELECT tests.authenticate_as('vic');
SELECT throws_ok(format('SELECT lp.approved_kyc(%L)', tests.user_id('vic')), '42501', NULL,
                 'lp.approved_kyc is not executable by the application role');

SELECT tests.clear_authentication();
SELECT * FROM finish();
ROLLBACK;
