-- KYC as a provider state machine and KYC record keeping (issue 9, section 1): api.apply_kyc_webhook (idempotent
-- by event id, never backwards, decisions by score, 18+), api.override_kyc_decision, the attempt limit
-- (kyc.max_declines, api.allow_kyc_retry), the record frozen after approval (LP130), the legal name encrypted
-- under lp.secrets 'kyc' and read decrypted by compliance officers only (api.kyc_record). Each gate: an allow
-- and a deny test; each refusal: its SQLSTATE and "nothing changed".
BEGIN;
SELECT plan(155);

-- Everything these functions may write: verifications, stage names, webhook events, users, cases, audit log.
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT md5(coalesce((SELECT string_agg(k::text, '|' ORDER BY k.id) FROM lp.kyc_verifications AS k), '')
               || coalesce((SELECT string_agg(a::text, '|' ORDER BY a.verification_id, a.alias) FROM lp.kyc_aliases AS a), '')
               || coalesce((SELECT string_agg(e::text, '|' ORDER BY e.provider, e.event_id) FROM lp.kyc_webhook_events AS e), '')
               || coalesce((SELECT string_agg(u.id::text || u.role::text || u.kyc_extra_attempts::text
                                              || coalesce(u.age_verified_at::text, '-'), '|' ORDER BY u.id)
                              FROM lp.users AS u), '')
               || (SELECT count(*) FROM lp.reports)::text
               || (SELECT count(*) FROM lp.audit_logs)::text)
$$;
-- A query that succeeds with the expected rows and changes nothing (a repeated webhook): two assertions.
CREATE FUNCTION tests.unchanged(p_query text, p_expected text, p_description text) RETURNS SETOF text
    LANGUAGE plpgsql AS $$
DECLARE
    v_before text := tests.state();
BEGIN
    RETURN NEXT results_eq(p_query, p_expected, p_description);
    RETURN NEXT is(tests.state(), v_before, p_description || ': nothing changed');
END
$$;
-- A verification at a provider, as the provider's start would make it (owner code in real life: submit_kyc).
CREATE FUNCTION tests.provider_kyc(p_username text, p_reference text, p_status text DEFAULT 'started')
    RETURNS uuid
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    INSERT INTO lp.kyc_verifications (user_id, level, status, provider, provider_reference, document_type,
                                      document_country)
    VALUES (tests.user_id(p_username), 'identity', p_status::lp.kyc_status, 'veriff', p_reference, 'passport', 'DE')
    RETURNING id
$$;
CREATE FUNCTION tests.kyc(p_id uuid) RETURNS lp.kyc_verifications
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT k.* FROM lp.kyc_verifications AS k WHERE k.id = p_id
$$;
CREATE FUNCTION tests.hook(p_event text, p_reference text, p_status text, p_score numeric DEFAULT NULL,
                           p_dob date DEFAULT NULL, p_occurred_at timestamptz DEFAULT NULL) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT format('SELECT outcome, status_before::text, status_after::text FROM api.apply_kyc_webhook(%L, %L, %L, %L, %L, NULL, NULL, %L, %L)',
                  'veriff', p_event, p_reference, p_status, p_score, p_dob, p_occurred_at)
$$;

DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer', false);
    PERFORM tests.create_user('paz', 'performer', false);
    PERFORM tests.create_user('pam', 'performer', false);
    PERFORM tests.create_user('kid', 'performer', false);
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('cora');
    PERFORM tests.remember('pia1', tests.provider_kyc('pia', 'vf-pia'));
    PERFORM tests.remember('paz1', tests.provider_kyc('paz', 'vf-paz', 'submitted'));
    PERFORM tests.remember('pam1', tests.provider_kyc('pam', 'vf-pam', 'submitted'));
    PERFORM tests.remember('kid1', tests.provider_kyc('kid', 'vf-kid', 'submitted'));
END
$$;

-- == the compliance officer role ===========================================================================
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format('SELECT api.set_user_role(%L, ''compliance_officer'')', tests.user_id('cora')), 'LP002',
                            'set_user_role: a moderator cannot make a compliance officer');
SELECT tests.authenticate_as('ada');
SELECT results_eq(format('SELECT role FROM api.set_user_role(%L, ''compliance_officer'')', tests.user_id('cora')),
                  $$VALUES ('compliance_officer')$$, 'set_user_role: an admin makes a compliance officer');
SELECT tests.clear_authentication();
SELECT alike(lp.staff_label(tests.user_id('cora')), 'compliance_officer #%', 'staff_label: a compliance officer is staff');

-- == api.apply_kyc_webhook: who may call it ================================================================
SELECT tests.authenticate_as('ada');
SELECT * FROM tests.rejects(tests.hook('e0', 'vf-pia', 'submitted'), '42501',
                            'apply_kyc_webhook: the application role (even an admin acting) cannot call it');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT * FROM tests.rejects(tests.hook('e0', 'vf-nobody', 'submitted'), 'LP003', 'apply_kyc_webhook: an unknown reference is LP003');
SELECT * FROM tests.rejects(tests.hook('e0', 'vf-pia', 'finished'), 'LP018', 'apply_kyc_webhook: an unknown status is LP018');
SELECT * FROM tests.rejects(tests.hook('', 'vf-pia', 'submitted'), 'LP018', 'apply_kyc_webhook: an empty event id is LP018');
SELECT * FROM tests.rejects(tests.hook('e0', 'vf-pia', 'in_review', 1.5), 'LP018', 'apply_kyc_webhook: a score above 1 is LP018');
SELECT * FROM tests.rejects(tests.hook('e0', 'vf-pia', 'submitted', NULL, current_date + 1), 'LP014',
                            'apply_kyc_webhook: a date of birth in the future is LP014');
SELECT * FROM tests.rejects(tests.hook('e0', 'vf-pia', 'submitted', NULL, DATE '1900-01-01'), 'LP014',
                            'apply_kyc_webhook: a date of birth on 1900-01-01 (the erasure''s marker) is LP014');
SELECT * FROM tests.rejects(format('SELECT api.apply_kyc_webhook(''veriff'', ''e0'', ''vf-pia'', ''declined'', NULL, ARRAY[%L])', repeat('r', 201)),
                            'LP018', 'apply_kyc_webhook: a reason over 200 characters is LP018');

-- == idempotency by (provider, event id) ===================================================================
SELECT results_eq(tests.hook('e1', 'vf-pia', 'submitted', NULL, NULL, now() - interval '10 minutes'),
                  $$VALUES ('applied', 'started', 'submitted')$$, 'apply_kyc_webhook: started -> submitted is applied');
SELECT tests.clear_authentication();
SELECT is((tests.kyc(tests.id('pia1'))).status::text, 'submitted', 'apply_kyc_webhook: the verification moved');
SELECT is(tests.audits('kyc.webhook', tests.id('pia1')), 1::bigint, 'apply_kyc_webhook: audited as kyc.webhook');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT * FROM tests.unchanged(tests.hook('e1', 'vf-pia', 'submitted', NULL, NULL, now() - interval '10 minutes'),
                              $$VALUES ('applied', 'started', 'submitted')$$,
                              'apply_kyc_webhook: a repeated event returns the same result');
SELECT * FROM tests.unchanged(tests.hook('e1', 'vf-pia', 'approved', 0.99),
                              $$VALUES ('applied', 'started', 'submitted')$$,
                              'apply_kyc_webhook: an event id is applied once whatever a repeat says');

-- == never backwards; terminal states stay terminal =======================================================
SELECT results_eq(tests.hook('e2', 'vf-pia', 'in_review', NULL, NULL, now() - interval '5 minutes'),
                  $$VALUES ('applied', 'submitted', 'in_review')$$, 'apply_kyc_webhook: submitted -> in_review');
SELECT results_eq(tests.hook('e3', 'vf-pia', 'submitted', NULL, NULL, now() - interval '1 minute'),
                  $$VALUES ('ignored', 'in_review', 'in_review')$$,
                  'apply_kyc_webhook: a late submitted after in_review does not move it back (recorded as ignored)');
SELECT results_eq(tests.hook('e4', 'vf-pia', 'resubmission_requested', NULL, NULL, now() - interval '8 minutes'),
                  $$VALUES ('ignored', 'in_review', 'in_review')$$,
                  'apply_kyc_webhook: an event older than the last applied one is ignored (out of order)');
SELECT results_eq(tests.hook('e5', 'vf-pia', 'resubmission_requested', NULL, NULL, now() - interval '4 minutes'),
                  $$VALUES ('applied', 'in_review', 'resubmission_requested')$$,
                  'apply_kyc_webhook: in_review -> resubmission_requested');
SELECT results_eq(tests.hook('e6', 'vf-pia', 'submitted', NULL, NULL, now() - interval '3 minutes'),
                  $$VALUES ('applied', 'resubmission_requested', 'submitted')$$,
                  'apply_kyc_webhook: a resubmission starts the next round');
SELECT results_eq(tests.hook('e7', 'vf-pia', 'approved', NULL, DATE '1995-04-01', now() - interval '2 minutes'),
                  $$VALUES ('applied', 'submitted', 'approved')$$, 'apply_kyc_webhook: the provider approves (no score)');
SELECT tests.clear_authentication();
SELECT results_eq(format('SELECT status::text, decided_by, verified_date_of_birth, approved_at IS NOT NULL, reviewed_by FROM lp.kyc_verifications WHERE id = %L', tests.id('pia1')),
                  $$VALUES ('approved', 'provider', DATE '1995-04-01', true, NULL::uuid)$$,
                  'apply_kyc_webhook: approved by the provider, date of birth recorded, approval stamped');
SELECT is(lp.kyc_refusal(tests.user_id('pia')), NULL, 'apply_kyc_webhook: the KYC gate opens for the approved performer');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('e8', 'vf-pia', 'declined', NULL, NULL, now() - interval '1 minute'),
                  $$VALUES ('ignored', 'approved', 'approved')$$, 'apply_kyc_webhook: an approval is not declined by a later event');
SELECT results_eq(tests.hook('e9', 'vf-pia', 'in_review'), $$VALUES ('ignored', 'approved', 'approved')$$,
                  'apply_kyc_webhook: nor moved back to review');
SELECT results_eq(tests.hook('e10', 'vf-pia', 'expired'), $$VALUES ('applied', 'approved', 'expired')$$,
                  'apply_kyc_webhook: an approval may expire');
SELECT results_eq(tests.hook('e11', 'vf-pia', 'approved'), $$VALUES ('ignored', 'expired', 'expired')$$,
                  'apply_kyc_webhook: expired is terminal');
SELECT tests.clear_authentication();
SELECT isnt(lp.kyc_refusal(tests.user_id('pia')), NULL, 'apply_kyc_webhook: an expired approval closes the KYC gate');

-- == decisions by score ====================================================================================
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('s1', 'vf-paz', 'in_review', 0.5), $$VALUES ('applied', 'submitted', 'in_review')$$,
                  'score: between kyc.auto_decline_score and kyc.auto_approve_score goes to human review');
SELECT tests.authenticate_as('ada');
SELECT ok(tests.id('paz1') IN (SELECT id FROM api.list_pending_kyc()), 'score: the human review queue shows it');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('s2', 'vf-paz', 'approved', 0.2), $$VALUES ('applied', 'in_review', 'declined')$$,
                  'score: below kyc.auto_decline_score declines, even when the provider said approved');
SELECT results_eq(tests.hook('s3', 'vf-pam', 'in_review', 0.95, DATE '1990-01-01'), $$VALUES ('applied', 'submitted', 'approved')$$,
                  'score: at or above kyc.auto_approve_score approves');
SELECT tests.clear_authentication();
SELECT results_eq(format('SELECT id, status::text, decided_by, rejection_reason IS NOT NULL FROM lp.kyc_verifications WHERE id IN (%L, %L) ORDER BY status',
                         tests.id('paz1'), tests.id('pam1')),
                  format($$VALUES (%L::uuid, 'approved', 'score', false), (%L::uuid, 'declined', 'score', true)$$,
                         tests.id('pam1'), tests.id('paz1')),
                  'score: both decisions are recorded as automated (decided_by score), the decline with its reason');
UPDATE lp.settings SET value = '99' WHERE key = 'kyc.auto_approve_score';
SELECT tests.remember('vic1', tests.provider_kyc('vic', 'vf-vic', 'submitted'));
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('s4', 'vf-vic', 'approved', 0.95), $$VALUES ('applied', 'submitted', 'in_review')$$,
                  'score: the thresholds are settings (kyc.auto_approve_score 99: 0.95 needs a human)');

-- == 18+ ===================================================================================================
SELECT results_eq(tests.hook('k1', 'vf-kid', 'approved', 0.99, (current_date - interval '17 years')::date),
                  $$VALUES ('applied', 'submitted', 'declined')$$,
                  '18+: an approval of a person under auth.minimum_age_years is a decline');
SELECT tests.clear_authentication();
SELECT results_eq(format('SELECT decided_by, rejection_reason LIKE ''underage%%'' FROM lp.kyc_verifications WHERE id = %L', tests.id('kid1')),
                  $$VALUES ('age_check', true)$$, '18+: decided by the age check, with the reason');
SELECT results_eq(format('SELECT reason::text, priority::text FROM lp.reports WHERE reported_user_id = %L', tests.user_id('kid')),
                  $$VALUES ('underage', 'critical')$$, '18+: the account is flagged for review (a critical underage case)');
SELECT is(lp.kyc_refusal(tests.user_id('kid')), 'no approved identity verification', '18+: the KYC gate stays closed');
SELECT is((SELECT count(*)::integer FROM lp.reports WHERE reported_user_id = tests.user_id('pam')), 0,
          '18+: an adult''s approval files no case');
SELECT tests.create_user('teen', 'performer', false);
SELECT tests.remember('teen1', tests.provider_kyc('teen', 'vf-teen', 'submitted'));
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('t1', 'vf-teen', 'in_review', 0.5, (current_date - interval '16 years')::date),
                  $$VALUES ('applied', 'submitted', 'in_review')$$, '18+: a check with a minor''s date of birth waiting for a human');
SELECT tests.authenticate_as('ada');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L)', tests.id('teen1')), 'LP013',
                            '18+: the human review cannot approve it either (the recorded date of birth): LP013');
SELECT tests.clear_authentication();

-- == api.override_kyc_decision =============================================================================
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format('SELECT api.override_kyc_decision(%L, ''approved'', ''clear photo'')', tests.id('paz1')), 'LP002',
                            'override_kyc_decision: a moderator is LP002');
SELECT tests.authenticate_as('paz');
SELECT * FROM tests.rejects(format('SELECT api.override_kyc_decision(%L, ''approved'', ''me'')', tests.id('paz1')), 'LP002',
                            'override_kyc_decision: the user themself is LP002');
SELECT tests.authenticate_as('ada');
SELECT * FROM tests.rejects(format('SELECT api.override_kyc_decision(%L, ''approved'', ''  '')', tests.id('paz1')), 'LP018',
                            'override_kyc_decision: no reason is LP018');
SELECT * FROM tests.rejects(format('SELECT api.override_kyc_decision(%L, ''in_review'', ''look again'')', tests.id('paz1')), 'LP018',
                            'override_kyc_decision: a decision is approved or declined (LP018)');
SELECT * FROM tests.rejects(format('SELECT api.override_kyc_decision(%L, ''approved'', ''x'')', gen_random_uuid()), 'LP003',
                            'override_kyc_decision: an unknown verification is LP003');
SELECT * FROM tests.rejects(format('SELECT api.override_kyc_decision(%L, ''approved'', ''x'')', tests.id('pia1')), 'LP004',
                            'override_kyc_decision: an expired verification is LP004');
SELECT * FROM tests.rejects(format('SELECT api.override_kyc_decision(%L, ''approved'', ''x'')', tests.id('kid1')), 'LP013',
                            'override_kyc_decision: approving a person under age is LP013');
SELECT results_eq(format($$SELECT status::text, decided_by, reviewed_by, legal_name_encrypted FROM api.override_kyc_decision(%L, 'approved', 'score was wrong: clear photo')$$, tests.id('paz1')),
                  format($$VALUES ('approved', 'override', %L::uuid, NULL::bytea)$$, tests.user_id('ada')),
                  'override_kyc_decision: an admin overrides the automated decline with a reason');
SELECT tests.clear_authentication();
SELECT is(tests.audits('kyc.override', tests.id('paz1')), 1::bigint, 'override_kyc_decision: audited as kyc.override');
SELECT is((SELECT details ->> 'reason' FROM lp.audit_logs WHERE action = 'kyc.override'), 'score was wrong: clear photo',
          'override_kyc_decision: the audit keeps the reason');
SELECT is(lp.kyc_refusal(tests.user_id('paz')), NULL, 'override_kyc_decision: the KYC gate opens');

-- == attempts: kyc.max_declines, api.allow_kyc_retry =======================================================
-- vic (a viewer) is declined three times in the manual review.
UPDATE lp.settings SET value = '3' WHERE key = 'kyc.max_declines';
DO $$
DECLARE
    v_id uuid;
BEGIN
    UPDATE lp.kyc_verifications SET status = 'abandoned' WHERE id = tests.id('vic1');
    FOR i IN 1 .. 3 LOOP
        PERFORM tests.authenticate_as('vic');
        v_id := (api.submit_kyc('identity', 'passport', 'DE', 's3://kyc-docs/vic/front-' || i || '.jpg')).id;
        PERFORM tests.authenticate_as('ada');
        PERFORM api.reject_kyc(v_id, 'blurry ' || i);
    END LOOP;
    PERFORM tests.clear_authentication();
END
$$;
SELECT is((SELECT count(*)::integer FROM lp.kyc_verifications WHERE user_id = tests.user_id('vic') AND status = 'declined'), 3,
          'attempts: three declines');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects($$SELECT api.submit_kyc('identity', 'passport', 'DE', 's3://kyc-docs/vic/front-4.jpg')$$, 'LP131',
                            'attempts: after kyc.max_declines declines a fourth submission is LP131');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format('SELECT api.allow_kyc_retry(%L, ''new passport'')', tests.user_id('vic')), 'LP002',
                            'allow_kyc_retry: a moderator is LP002');
SELECT tests.authenticate_as('ada');
SELECT * FROM tests.rejects(format('SELECT api.allow_kyc_retry(%L, '''')', tests.user_id('vic')), 'LP018',
                            'allow_kyc_retry: no reason is LP018');
SELECT * FROM tests.rejects(format('SELECT api.allow_kyc_retry(%L, ''x'')', gen_random_uuid()), 'LP003',
                            'allow_kyc_retry: an unknown user is LP003');
SELECT * FROM tests.rejects(format('SELECT api.allow_kyc_retry(%L, ''x'')', tests.user_id('pam')), 'LP004',
                            'allow_kyc_retry: a user below the limit is LP004');
SELECT is(api.allow_kyc_retry(tests.user_id('vic'), 'new passport, checked by phone'), 1,
          'allow_kyc_retry: an admin allows one more attempt');
SELECT tests.clear_authentication();
SELECT is(tests.audits('kyc.allow_retry', tests.user_id('vic')), 1::bigint, 'allow_kyc_retry: audited as kyc.allow_retry');
SELECT tests.authenticate_as('vic');
SELECT lives_ok($$SELECT api.submit_kyc('identity', 'passport', 'DE', 's3://kyc-docs/vic/front-4.jpg')$$,
                'attempts: after the admin''s allowance the user may submit once more');
SELECT tests.authenticate_as('ada');
SELECT lives_ok(format('SELECT api.reject_kyc(%L, ''still blurry'')',
                       (SELECT id FROM lp.kyc_verifications WHERE user_id = tests.user_id('vic') AND status = 'submitted')),
                'attempts: the extra attempt is declined too');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects($$SELECT api.submit_kyc('identity', 'passport', 'DE', 's3://kyc-docs/vic/front-5.jpg')$$, 'LP131',
                            'attempts: one allowance is one attempt (LP131 again)');

-- == record keeping: legal name encrypted, stage names, compliance officer =================================
SELECT tests.create_user('rhea', 'performer', false);
SELECT tests.authenticate_as('rhea');
SELECT results_eq($$SELECT status::text, legal_name_encrypted FROM api.submit_kyc('identity', 'passport', 'FR', 's3://kyc-docs/rhea/front.jpg',
                                                                                     NULL, NULL, 'manual', NULL, ' Rhéa Marie Dupont ',
                                                                                     ARRAY['Rhea Rose', ' Velvet ', 'Velvet'])$$,
                  $$VALUES ('submitted', NULL::bytea)$$,
                  'submit_kyc: the legal name goes in, nothing comes back (no ciphertext either)');
SELECT * FROM tests.rejects($$SELECT api.submit_kyc('identity', 'passport', 'FR', 's3://kyc-docs/rhea/front.jpg', NULL, NULL, 'manual', NULL, 'x', ARRAY[''])$$,
                            'LP018', 'submit_kyc: an empty stage name is LP018');
SELECT tests.clear_authentication();
SELECT tests.remember('rhea1', (SELECT id FROM lp.kyc_verifications WHERE user_id = tests.user_id('rhea')));
SELECT ok((SELECT position(convert_to('Dupont', 'UTF8') IN legal_name_encrypted) = 0 AND legal_name_encrypted IS NOT NULL
             FROM lp.kyc_verifications WHERE id = tests.id('rhea1')),
          'record: the legal name is stored encrypted (no plaintext in the column)');
SELECT is((SELECT array_agg(alias ORDER BY alias) FROM lp.kyc_aliases WHERE verification_id = tests.id('rhea1')),
          ARRAY['Rhea Rose', 'Velvet'], 'record: the stage names are kept (trimmed, distinct)');

SELECT tests.authenticate_as('cora');
SELECT results_eq(format('SELECT legal_name, aliases, document_country, status FROM api.kyc_record(%L)', tests.id('rhea1')),
                  $$VALUES ('Rhéa Marie Dupont', ARRAY['Rhea Rose', 'Velvet'], 'FR', 'submitted')$$,
                  'kyc_record: a compliance officer reads the record decrypted');
SELECT throws_ok(format('SELECT * FROM api.kyc_record(%L)', gen_random_uuid()), 'LP003', NULL, 'kyc_record: an unknown verification is LP003');
SELECT results_eq(format('SELECT id FROM api.get_kyc_status(%L)', tests.user_id('rhea')), format('VALUES (%L::uuid)', tests.id('rhea1')),
                  'get_kyc_status: a compliance officer finds a user''s verification');
SELECT is((SELECT count(*)::integer FROM lp.kyc_verifications WHERE user_id = tests.user_id('rhea')), 1,
          'lp.kyc_verifications: a compliance officer reads every verification (row level security)');
SELECT tests.clear_authentication();
SELECT is(tests.audits('kyc.record_read', tests.id('rhea1')), 1::bigint, 'kyc_record: every read is audited');
SELECT tests.authenticate_as('ada');
SELECT * FROM tests.rejects(format('SELECT * FROM api.kyc_record(%L)', tests.id('rhea1')), 'LP002', 'kyc_record: an admin is LP002');
SELECT is((SELECT legal_name_encrypted FROM api.list_pending_kyc() WHERE id = tests.id('rhea1')), NULL::bytea,
          'list_pending_kyc: the review queue never returns the ciphertext');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format('SELECT * FROM api.kyc_record(%L)', tests.id('rhea1')), 'LP002', 'kyc_record: a moderator is LP002');
SELECT tests.authenticate_as('rhea');
SELECT * FROM tests.rejects(format('SELECT * FROM api.kyc_record(%L)', tests.id('rhea1')), 'LP002',
                            'kyc_record: the performer herself is LP002');
SELECT throws_ok($$SELECT * FROM lp.secrets$$, '42501', NULL, 'lp.secrets: the application role cannot read the keys');
SELECT throws_ok(format('SELECT lp.kyc_decrypt(legal_name_encrypted) FROM api.get_kyc_status()'), '42501', NULL,
                 'lp.kyc_decrypt: the application role cannot call it');
SELECT throws_ok($$SELECT * FROM lp.kyc_aliases$$, '42501', NULL, 'lp.kyc_aliases: the application role cannot read stage names');
SELECT throws_ok($$SELECT legal_name_encrypted FROM lp.kyc_verifications$$, '42501', NULL,
                 'lp.kyc_verifications: the application role cannot read the encrypted legal name, not even its own');
SELECT is((SELECT legal_name_encrypted FROM api.get_kyc_status()), NULL::bytea, 'get_kyc_status: never returns the ciphertext');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT throws_ok($$SELECT * FROM lp.secrets$$, '42501', NULL, 'lp.secrets: nor can the service role');
SELECT throws_ok($$SELECT * FROM lp.kyc_webhook_events$$, '42501', NULL, 'lp.kyc_webhook_events: the service role reads events only through the api');

-- == the record is frozen after approval ===================================================================
SELECT tests.clear_authentication();
SELECT lives_ok(format($$UPDATE lp.kyc_verifications SET document_country = 'BE' WHERE id = %L$$, tests.id('rhea1')),
                'frozen: before approval the record may change');
SELECT lives_ok(format($$INSERT INTO lp.kyc_aliases (verification_id, alias) VALUES (%L, 'Rosie')$$, tests.id('rhea1')),
                'frozen: before approval a stage name may be added');
SELECT tests.authenticate_as('ada');
SELECT results_eq(format('SELECT status::text, legal_name_encrypted FROM api.approve_kyc(%L, NULL, DATE ''1992-03-04'')', tests.id('rhea1')),
                  $$VALUES ('approved', NULL::bytea)$$, 'approve_kyc: the manual review approves; no ciphertext comes back');
-- Every api function whose result carries the column (from the catalog): the ones this file calls and checks
-- return it NULL; a new one must be added here, with its check.
SELECT set_eq($$SELECT DISTINCT p.proname::text FROM pg_proc AS p
                 WHERE p.pronamespace = 'api'::regnamespace
                   AND ('legal_name_encrypted' = ANY (p.proargnames)
                        OR EXISTS (SELECT 1 FROM pg_attribute AS a JOIN pg_type AS t ON t.typrelid = a.attrelid
                                    WHERE t.oid = p.prorettype AND a.attname = 'legal_name_encrypted'))$$,
              ARRAY['approve_kyc', 'get_kyc_status', 'list_pending_kyc', 'override_kyc_decision', 'reject_kyc', 'submit_kyc'],
              'the api functions that return legal_name_encrypted are the six this file checks return it NULL');
SELECT tests.create_user('rory', 'performer', false);
SELECT tests.authenticate_as('rory');
SELECT lives_ok($$SELECT api.submit_kyc('identity', 'passport', 'FR', 's3://kyc-docs/rory/front.jpg', NULL, NULL,
                                        'manual', NULL, 'Rory Anne Martin')$$, 'rory submits her legal name');
SELECT tests.authenticate_as('ada');
SELECT results_eq(format('SELECT status::text, legal_name_encrypted FROM api.reject_kyc(%L, ''blurry'')',
                         (SELECT id FROM lp.kyc_verifications WHERE user_id = tests.user_id('rory'))),
                  $$VALUES ('declined', NULL::bytea)$$, 'reject_kyc: declined; no ciphertext comes back');
SELECT tests.clear_authentication();
SELECT results_eq(format('SELECT decided_by, approved_at FROM lp.kyc_verifications WHERE id = %L', tests.id('rhea1')),
                  $$VALUES ('admin', now())$$, 'approve_kyc: decided by an admin, the approval stamped');
SELECT * FROM tests.rejects(format($$UPDATE lp.kyc_verifications SET document_country = 'DE' WHERE id = %L$$, tests.id('rhea1')),
                            'LP130', 'frozen: the document country of an approved verification cannot change (even as the owner)');
SELECT * FROM tests.rejects(format($$UPDATE lp.kyc_verifications SET verified_date_of_birth = DATE '1980-01-01' WHERE id = %L$$, tests.id('rhea1')),
                            'LP130', 'frozen: nor the date of birth');
SELECT * FROM tests.rejects(format($$UPDATE lp.kyc_verifications SET legal_name_encrypted = lp.kyc_encrypt('Someone Else') WHERE id = %L$$, tests.id('rhea1')),
                            'LP130', 'frozen: nor the legal name');
SELECT * FROM tests.rejects(format($$UPDATE lp.kyc_verifications SET document_front_url = 's3://kyc-docs/other.jpg' WHERE id = %L$$, tests.id('rhea1')),
                            'LP130', 'frozen: nor a document reference');
SELECT * FROM tests.rejects(format($$DELETE FROM lp.kyc_verifications WHERE id = %L$$, tests.id('rhea1')),
                            'LP130', 'frozen: an approved verification cannot be deleted');
SELECT * FROM tests.rejects(format($$INSERT INTO lp.kyc_aliases (verification_id, alias) VALUES (%L, 'Late Name')$$, tests.id('rhea1')),
                            'LP130', 'frozen: no stage name added after approval');
SELECT * FROM tests.rejects(format($$UPDATE lp.kyc_aliases SET alias = 'Renamed' WHERE verification_id = %L AND alias = 'Velvet'$$, tests.id('rhea1')),
                            'LP130', 'frozen: nor renamed');
SELECT * FROM tests.rejects(format($$DELETE FROM lp.kyc_aliases WHERE verification_id = %L$$, tests.id('rhea1')),
                            'LP130', 'frozen: nor removed');
SELECT lives_ok(format($$UPDATE lp.kyc_verifications SET selfie_url = 's3://kyc-docs/rhea/selfie.jpg' WHERE id = %L$$, tests.id('rhea1')),
                'frozen: a value missing at approval may be completed');
SELECT lives_ok(format($$UPDATE lp.kyc_verifications SET status = 'expired' WHERE id = %L$$, tests.id('rhea1')),
                'frozen: the status stays free (an approval expires)');
SELECT lives_ok(format('SELECT lp.destroy_kyc_records(%L)', tests.user_id('rhea')),
                'frozen: the record may be destroyed at the end of its legal retention');
SELECT lives_ok(format($$DELETE FROM lp.kyc_aliases WHERE verification_id = %L$$, tests.id('rhea1')),
                'frozen: and then its stage names');

-- == a provider's reference names one person =============================================================
-- An attacker with an account of their own submits a victim's reference: the provider's approval of the victim
-- would reach the newest verification holding it, theirs. Refused at submission; a reference two users'
-- verifications already share (legacy, or by hand) is applied to neither.
DO $$
BEGIN
    PERFORM tests.create_user('rita', 'performer', false);
    PERFORM tests.create_user('rex', 'performer', false);
    PERFORM tests.create_user('ruth', 'performer', false);
    PERFORM tests.create_user('ron', 'performer', false);
    PERFORM tests.create_user('rosa', 'performer', false);
END
$$;
SELECT tests.authenticate_as('rita');
SELECT tests.remember('rita1', (api.submit_kyc('identity', 'passport', 'DE', 's3://kyc-docs/rita/front.jpg', NULL, NULL,
                                               'veriff', 'vf-rita')).id);
SELECT tests.authenticate_as('rex');
SELECT * FROM tests.rejects($$SELECT api.submit_kyc('identity', 'passport', 'DE', 's3://kyc-docs/rex/front.jpg', NULL, NULL,
                                                    'veriff', 'vf-rita')$$, 'LP132',
                            'submit_kyc: another user''s provider reference is LP132');
SELECT tests.authenticate_as('rosa');
SELECT lives_ok($$SELECT api.submit_kyc('identity', 'passport', 'DE', 's3://kyc-docs/rosa/front.jpg', NULL, NULL,
                                        'acme', 'vf-rita')$$,
                'submit_kyc: the same reference at another provider is another reference');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('rita-ok', 'vf-rita', 'approved', NULL, DATE '1990-01-01'),
                  $$VALUES ('applied', 'submitted', 'approved')$$,
                  'apply_kyc_webhook: the provider''s approval reaches the verification of the user it names');
SELECT tests.clear_authentication();
SELECT is((tests.kyc(tests.id('rita1'))).user_id, tests.user_id('rita'), 'apply_kyc_webhook: that is rita''s');
-- A reference two users' verifications hold (written by hand, as before the rule): nothing guesses whose it is.
SELECT tests.remember('ruth1', tests.provider_kyc('ruth', 'vf-twice', 'submitted'));
SELECT tests.remember('rex1', tests.provider_kyc('rex', 'vf-twice', 'submitted'));
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT * FROM tests.rejects(tests.hook('twice-ok', 'vf-twice', 'approved', NULL, DATE '1990-01-01'), 'LP132',
                            'apply_kyc_webhook: a reference verifications of two users hold is LP132');
SELECT tests.clear_authentication();
SELECT is(ARRAY[(tests.kyc(tests.id('ruth1'))).status::text, (tests.kyc(tests.id('rex1'))).status::text],
          ARRAY['submitted', 'submitted'], 'apply_kyc_webhook: neither verification moved');
-- The user's own earlier verification may share the reference: the provider's next event reaches the newest.
SELECT tests.authenticate_as('ron');
SELECT tests.remember('ron1', (api.submit_kyc('identity', 'passport', 'DE', 's3://kyc-docs/ron/front.jpg', NULL, NULL,
                                              'veriff', 'vf-ron')).id);
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('ron-no', 'vf-ron', 'declined'), $$VALUES ('applied', 'submitted', 'declined')$$,
                  'apply_kyc_webhook: ron''s first verification declined');
-- (submitted a minute ago: this file is one transaction, where now() never moves)
SELECT tests.clear_authentication();
UPDATE lp.kyc_verifications SET created_at = created_at - interval '1 minute' WHERE id = tests.id('ron1');
SELECT tests.authenticate_as('ron');
SELECT tests.remember('ron2', (api.submit_kyc('identity', 'passport', 'DE', 's3://kyc-docs/ron/front-2.jpg', NULL, NULL,
                                              'veriff', 'vf-ron')).id);
SELECT isnt(tests.id('ron2'), tests.id('ron1'), 'submit_kyc: a user submits again under their own reference');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('ron-ok', 'vf-ron', 'approved', NULL, DATE '1990-01-01'),
                  $$VALUES ('applied', 'submitted', 'approved')$$,
                  'apply_kyc_webhook: the next event reaches the newest of the user''s verifications');
SELECT tests.clear_authentication();
SELECT is((tests.kyc(tests.id('ron2'))).status::text, 'approved', 'apply_kyc_webhook: the second one is approved');

-- == settings bounds =======================================================================================
SELECT tests.authenticate_as('ada');
SELECT throws_ok($$SELECT api.set_setting('kyc.auto_approve_score', '101')$$, 'LP092', NULL,
                 'set_setting: a score threshold over 100 percent is LP092');
SELECT throws_ok($$SELECT api.set_setting('kyc.max_declines', '0')$$, 'LP092', NULL,
                 'set_setting: kyc.max_declines below 1 is LP092');
SELECT lives_ok($$SELECT api.set_setting('kyc.max_declines', '5')$$, 'set_setting: an admin sets kyc.max_declines');
SELECT tests.clear_authentication();

SELECT * FROM finish();
ROLLBACK;
