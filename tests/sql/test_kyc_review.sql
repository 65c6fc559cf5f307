-- An adversarial review of identity verification and its gate (each section a defect found, reproduced first):
-- a manual approval keeps the document expiry a provider reported (the gate closes when the document expires);
-- an erasure abandons the user's open verifications (no webhook or admin approves, or writes a date of birth
-- into, the record of an erased person); an admin's override does not revive an approval that has lapsed; a
-- replayed webhook answers what it answered the first time after the records were destroyed; an approval of a
-- document already expired is no approval; an underage finding on a re-verification closes the gate at once;
-- only compliance officers read a verified date of birth; a revocation revokes one verification, not the person.
BEGIN;
SELECT plan(101);

-- Everything these functions may write: verifications, stage names, webhook events, users, cases, audit log.
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT md5(coalesce((SELECT string_agg(k::text, '|' ORDER BY k.id) FROM lp.kyc_verifications AS k), '')
               || coalesce((SELECT string_agg(a::text, '|' ORDER BY a.verification_id, a.alias) FROM lp.kyc_aliases AS a), '')
               || coalesce((SELECT string_agg(e::text, '|' ORDER BY e.provider, e.event_id) FROM lp.kyc_webhook_events AS e), '')
               || coalesce((SELECT string_agg(u.id::text || u.role::text || coalesce(u.kyc_valid_until::text, '-')
                                              || coalesce(u.age_verified_at::text, '-'), '|' ORDER BY u.id)
                              FROM lp.users AS u), '')
               || (SELECT count(*) FROM lp.reports)::text
               || (SELECT count(*) FROM lp.audit_logs)::text)
$$;
CREATE FUNCTION tests.kyc(p_id uuid) RETURNS lp.kyc_verifications
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT k.* FROM lp.kyc_verifications AS k WHERE k.id = p_id
$$;
CREATE FUNCTION tests.gate(p_username text) RETURNS timestamptz
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT u.kyc_valid_until FROM lp.users AS u WHERE u.id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.refusal(p_user uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce(lp.kyc_refusal(p_user), 'valid')
$$;
-- A verification at a provider (as the provider's start makes it).
CREATE FUNCTION tests.provider_kyc(p_username text, p_reference text, p_status text DEFAULT 'submitted')
    RETURNS uuid
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    INSERT INTO lp.kyc_verifications (user_id, level, status, provider, provider_reference, document_type,
                                      document_country)
    VALUES (tests.user_id(p_username), 'identity', p_status::lp.kyc_status, 'veriff', p_reference, 'passport', 'DE')
    RETURNING id
$$;
-- apply_kyc_webhook as a query: (outcome, status_before, status_after).
CREATE FUNCTION tests.hook(p_event text, p_reference text, p_status text, p_document_expires_on date DEFAULT NULL,
                           p_dob date DEFAULT NULL) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT format('SELECT outcome, status_before::text, status_after::text FROM api.apply_kyc_webhook(%L, %L, %L, %L, NULL, NULL, %L, %L)',
                  'veriff', p_event, p_reference, p_status, p_document_expires_on, p_dob)
$$;
-- A query's one row as text, or the SQLSTATE it raised (so a refusal fails one assertion, not the file).
CREATE FUNCTION tests.try(p_sql text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_row record;
BEGIN
    EXECUTE p_sql INTO v_row;
    RETURN v_row::text;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

DO $$
BEGIN
    PERFORM tests.create_user('dora', 'performer', false);  -- her document expires in 10 days
    PERFORM tests.create_user('dana', 'performer', false);  -- likewise, the admin gives a later date
    PERFORM tests.create_user('mara', 'performer', false);  -- manual, no provider expiry
    PERFORM tests.create_user('mina', 'performer', false);  -- the provider's verified date of birth: 17
    PERFORM tests.create_user('erno', 'performer', false);  -- erased while his verification is open
    PERFORM tests.create_user('lena', 'performer', false);  -- her approval lapsed (400 days old)
    PERFORM tests.create_user('lisa', 'performer', false);  -- her valid approval is revoked
    PERFORM tests.create_user('lola', 'performer', false);  -- approved 400 days ago, revoked in time
    PERFORM tests.create_user('rudi', 'performer', false);  -- his records are destroyed, the provider replays
    PERFORM tests.create_user('dirk', 'performer', false);  -- deletes his account while his verification is open
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.remember('dora1', tests.provider_kyc('dora', 'vf-dora'));
    PERFORM tests.remember('dana1', tests.provider_kyc('dana', 'vf-dana'));
    PERFORM tests.remember('mara1', tests.provider_kyc('mara', 'vf-mara'));
    PERFORM tests.remember('mina1', tests.provider_kyc('mina', 'vf-mina'));
    PERFORM tests.remember('erno1', tests.provider_kyc('erno', 'vf-erno'));
    PERFORM tests.remember('rudi1', tests.provider_kyc('rudi', 'vf-rudi'));
    PERFORM tests.remember('dirk1', tests.provider_kyc('dirk', 'vf-dirk'));
    PERFORM tests.remember('dirk', tests.user_id('dirk'));
    PERFORM tests.remember('erno', tests.user_id('erno'));  -- an erased user's username is gone
    PERFORM tests.remember('rudi', tests.user_id('rudi'));
    INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at)
    VALUES (tests.user_id('lena'), 'identity', 'approved', 'passport', 'DE', now() - interval '400 days'),
           (tests.user_id('lisa'), 'identity', 'approved', 'passport', 'DE', now() - interval '10 days'),
           (tests.user_id('lola'), 'identity', 'approved', 'passport', 'DE', now() - interval '400 days');
    -- lola's approval was revoked (an admin's override) while it still counted, 40 days ago.
    UPDATE lp.kyc_verifications SET status = 'declined', decided_by = 'override', reviewed_at = now() - interval '40 days',
                                     approval_ended_at = now() - interval '40 days', rejection_reason = 'fraud suspected'
     WHERE user_id = tests.user_id('lola');
    PERFORM tests.remember('lola1', (SELECT id FROM lp.kyc_verifications WHERE user_id = tests.user_id('lola')));
    PERFORM tests.remember('lena1', (SELECT id FROM lp.kyc_verifications WHERE user_id = tests.user_id('lena')));
    PERFORM tests.remember('lisa1', (SELECT id FROM lp.kyc_verifications WHERE user_id = tests.user_id('lisa')));
END
$$;

-- == 1. a manual approval keeps the document expiry the provider reported ===================================
-- The provider's check (score between the thresholds) sends it to a human with the document's expiry; the
-- admin approves without a date of her own: the gate must still close the day the document expires.
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('d1', 'vf-dora', 'in_review', current_date + 10),
                  $$VALUES ('applied', 'submitted', 'in_review')$$, 'webhook: dora in review, her document expiry recorded');
SELECT results_eq(tests.hook('n1', 'vf-dana', 'in_review', current_date + 10),
                  $$VALUES ('applied', 'submitted', 'in_review')$$, 'webhook: dana in review, her document expiry recorded');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format('SELECT api.approve_kyc(%L)', tests.id('dora1')), 'approve_kyc: dora approved without a date');
SELECT lives_ok(format('SELECT api.approve_kyc(%L, %L)', tests.id('dana1'), now() + interval '2 years'),
                'approve_kyc: dana approved with a date after her document''s expiry');
SELECT lives_ok(format('SELECT api.approve_kyc(%L, %L)', tests.id('mara1'), now() + interval '30 days'),
                'approve_kyc: mara (no provider expiry) approved with a date');
SELECT tests.clear_authentication();
SELECT is((tests.kyc(tests.id('dora1'))).expires_at, (current_date + 11)::timestamp AT TIME ZONE 'UTC',
          'approve_kyc without a date: the document''s expiry stays');
SELECT is(tests.gate('dora'), (current_date + 11)::timestamp AT TIME ZONE 'UTC',
          'approve_kyc without a date: the gate closes when the document expires');
SELECT is(tests.gate('dana'), (current_date + 11)::timestamp AT TIME ZONE 'UTC',
          'approve_kyc with a later date: the gate still closes when the document expires');
SELECT is(tests.gate('mara'), now() + interval '30 days', 'approve_kyc with a date and no document expiry: that date');

-- == 1b. a reviewer's date of birth does not overwrite a provider's that shows a minor ========================
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('m1', 'vf-mina', 'in_review', NULL, (current_date - interval '17 years')::date),
                  $$VALUES ('applied', 'submitted', 'in_review')$$, 'webhook: mina in review, the provider read a 17-year-old');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format($$SELECT api.approve_kyc(%L, NULL, DATE '1990-01-01')$$, tests.id('mina1')), 'LP013',
                            'approve_kyc: an adult date of birth typed over the provider''s minor is LP013');
SELECT lives_ok(format($$SELECT api.reject_kyc(%L, 'under age')$$, tests.id('mina1')), 'reject_kyc: mina declined instead');
SELECT tests.clear_authentication();
SELECT is(tests.refusal(tests.user_id('mina')), 'no approved identity verification', 'mina''s gate stays closed');

-- == 2. an erasure abandons the user's open verifications ===================================================
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format($$SELECT api.erase_user(%L, 'asked by mail')$$, tests.user_id('erno')), 'erase_user: erno erased');
SELECT tests.clear_authentication();
SELECT is((tests.kyc(tests.id('erno1'))).status::text, 'abandoned', 'erasure: his open verification is abandoned');
SELECT tests.authenticate_as('adam');
SELECT ok(tests.id('erno1') NOT IN (SELECT id FROM api.list_pending_kyc()), 'erasure: no longer in the review queue');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L)', tests.id('erno1')), 'LP004',
                            'approve_kyc: an erased user''s verification is LP004');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('e1', 'vf-erno', 'approved', NULL, DATE '1990-01-01'),
                  $$VALUES ('ignored', 'abandoned', 'abandoned')$$, 'webhook: an approval after the erasure is ignored');
SELECT tests.clear_authentication();
SELECT is((tests.kyc(tests.id('erno1'))).verified_date_of_birth, NULL::date,
          'webhook after the erasure: no date of birth written into the record');
SELECT is(tests.refusal(tests.id('erno')), 'no approved identity verification', 'webhook after the erasure: the gate stays closed');
SELECT is((SELECT age_verified_at FROM lp.users WHERE id = tests.id('erno')), NULL::timestamptz,
          'webhook after the erasure: the erased account is not marked age verified');

-- == 2b. so does a deletion of the account ===================================================================
SELECT tests.login_as('dirk');  -- a user's own deletion wants a recent login
SELECT lives_ok($$SELECT api.delete_user(NULL, 'bye')$$, 'delete_user: dirk deletes his account');
SELECT tests.clear_authentication();
SELECT is((tests.kyc(tests.id('dirk1'))).status::text, 'abandoned', 'deletion: his open verification is abandoned');
SELECT is((SELECT (details ->> 'kyc_abandoned')::integer FROM lp.audit_logs
            WHERE action = 'user.delete' AND target_id = tests.id('dirk')::text), 1, 'deletion: audited with the count');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L)', tests.id('dirk1')), 'LP004',
                            'approve_kyc: a deleted account''s verification is LP004');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('dirk-e1', 'vf-dirk', 'approved', NULL, DATE '1990-01-01'),
                  $$VALUES ('ignored', 'abandoned', 'abandoned')$$, 'webhook: an approval after the deletion is ignored');
SELECT tests.clear_authentication();
SELECT is((SELECT age_verified_at FROM lp.users WHERE id = tests.id('dirk')), NULL::timestamptz,
          'webhook after the deletion: the deleted account is not marked age verified');

-- == 3. an override does not revive a lapsed approval =======================================================
SELECT is(tests.refusal(tests.user_id('lena')), 'identity verification expired: re-verification needed', 'lena''s approval has lapsed');
DO $$
BEGIN  -- lisa is live when her approval is revoked
    PERFORM tests.authenticate_as('lisa');
    PERFORM tests.remember('lisa-live', (api.schedule_stream('lisa live')).id);
    PERFORM api.consent_to_stream(tests.id('lisa-live'), '203.0.113.1');
    PERFORM api.start_stream(tests.id('lisa-live'));
    PERFORM tests.clear_authentication();
END
$$;
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format($$SELECT api.override_kyc_decision(%L, 'declined', 'fraud suspected')$$, tests.id('lena1')),
                            'LP004', 'override: a lapsed approval (not yet marked by the job) is expired: LP004');
SELECT lives_ok(format($$SELECT api.override_kyc_decision(%L, 'declined', 'fraud suspected')$$, tests.id('lisa1')),
                'override: a valid approval is revoked');
SELECT tests.clear_authentication();
SELECT is(tests.refusal(tests.user_id('lisa')), 'identity verification expired: re-verification needed', 'override: the revoked approval closes the gate');
SELECT results_eq(format($$SELECT status::text, end_reason FROM lp.streams WHERE id = %L$$, tests.id('lisa-live')),
                  $$VALUES ('ended', 'go-live gate')$$, 'override: her live stream ends with the revocation, not at the next sweep');
-- Approving again an approval that was revoked restores it, with its period: from its first approval.
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format($$SELECT api.override_kyc_decision(%L, 'approved', 'cleared')$$, tests.id('lisa1')),
                'override: the revoked approval is approved again');
SELECT * FROM tests.rejects(format($$SELECT api.override_kyc_decision(%L, 'approved', 'cleared')$$, tests.id('lola1')),
                            'LP004', 'override: approving again an approval whose period has passed since is LP004');
SELECT tests.clear_authentication();
SELECT is(tests.gate('lisa'), now() - interval '10 days' + interval '365 days',
          'override: approved again, the gate counts the period from the first approval, not from now');
SELECT is(tests.refusal(tests.user_id('lola')), 'identity verification expired: re-verification needed',
          'override refused: lola still needs a re-verification');

-- == 4. a replay answers the same after the records were destroyed ==========================================
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('r1', 'vf-rudi', 'declined'), $$VALUES ('applied', 'submitted', 'declined')$$,
                  'webhook: rudi declined');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format($$SELECT api.erase_user(%L, 'asked by mail')$$, tests.user_id('rudi')), 'erase_user: rudi erased');
SELECT tests.clear_authentication();
SELECT is(lp.destroy_kyc_records(tests.id('rudi')), 1, 'his records destroyed at the end of their retention');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT tests.snap();
SELECT is(tests.try(tests.hook('r1', 'vf-rudi', 'declined')), '(applied,submitted,declined)',
          'webhook replay after the destruction: the first answer');
SELECT tests.unchanged('webhook replay after the destruction: nothing changed');
SELECT tests.clear_authentication();

-- == 5. an approval of a document that has already expired is no approval ==================================
-- A webhook must be acknowledged (the provider retries a refusal), so it is recorded as a request for a
-- resubmission with the reason; a human's approval of such a document is refused (LP004).
DO $$
BEGIN
    PERFORM tests.create_user('xena', 'performer', false);  -- the provider approves a document expired yesterday
    PERFORM tests.create_user('xeno', 'performer', false);  -- the expiry recorded in review, then approved by score
    PERFORM tests.create_user('xavi', 'performer', false);  -- an admin approves a document the provider read expired
    PERFORM tests.create_user('xiao', 'performer', false);  -- an admin overrides a decline of an expired document
    PERFORM tests.remember('xena1', tests.provider_kyc('xena', 'vf-xena'));
    PERFORM tests.remember('xeno1', tests.provider_kyc('xeno', 'vf-xeno'));
    PERFORM tests.remember('xavi1', tests.provider_kyc('xavi', 'vf-xavi'));
    PERFORM tests.remember('xiao1', tests.provider_kyc('xiao', 'vf-xiao'));
END
$$;
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('x1', 'vf-xena', 'approved', current_date - 1, DATE '1990-01-01'),
                  $$VALUES ('applied', 'submitted', 'resubmission_requested')$$,
                  'webhook: an approval of a document expired yesterday asks for a resubmission');
SELECT tests.clear_authentication();
SELECT is(tests.refusal(tests.user_id('xena')), 'no approved identity verification', 'expired document: the gate stays closed');
SELECT is(row((tests.kyc(tests.id('xena1'))).approved_at, (tests.kyc(tests.id('xena1'))).decided_by,
              (tests.kyc(tests.id('xena1'))).rejection_reason)::text,
          row(NULL::timestamptz, NULL::text, format('document expired on %s: resubmission with a valid document needed',
                                                    current_date - 1))::text,
          'expired document: never approved, the reason recorded');
SELECT is((SELECT note FROM lp.kyc_webhook_events WHERE event_id = 'x1'),
          format('document expired on %s: resubmission with a valid document needed', current_date - 1),
          'expired document: the event says why');
SELECT is((SELECT age_verified_at FROM lp.users WHERE id = tests.user_id('xena')), NULL::timestamptz,
          'expired document: the account is not marked age verified');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('y1', 'vf-xeno', 'in_review', current_date - 3),
                  $$VALUES ('applied', 'submitted', 'in_review')$$, 'webhook: xeno in review, her document expired 3 days ago');
SELECT results_eq($$SELECT outcome, status_after::text FROM api.apply_kyc_webhook('veriff', 'y2', 'vf-xeno', 'in_review', 0.99)$$,
                  $$VALUES ('applied', 'resubmission_requested')$$,
                  'webhook: a score approval of the document recorded expired asks for a resubmission');
SELECT results_eq($$SELECT outcome, status_after::text, note FROM api.apply_kyc_webhook('veriff', 'y3', 'vf-xeno', 'approved')$$,
                  format($$VALUES ('ignored', 'resubmission_requested', %L)$$,
                         format('document expired on %s: resubmission with a valid document needed (already requested)',
                                current_date - 3)),
                  'webhook: another approval of the expired document changes nothing, and says why');
SELECT results_eq(tests.hook('y4', 'vf-xeno', 'submitted'), $$VALUES ('applied', 'resubmission_requested', 'submitted')$$,
                  'webhook: xeno resubmits');
SELECT results_eq(tests.hook('y5', 'vf-xeno', 'approved', current_date + 100, DATE '1990-01-01'),
                  $$VALUES ('applied', 'submitted', 'approved')$$, 'webhook: her valid document is approved');
SELECT tests.clear_authentication();
SELECT is(row(tests.gate('xeno'), (tests.kyc(tests.id('xeno1'))).rejection_reason)::text,
          row((current_date + 101)::timestamp AT TIME ZONE 'UTC', NULL::text)::text,
          'resubmitted and approved: the gate opens until the new document expires, no reason left');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('v1', 'vf-xavi', 'in_review', current_date - 1),
                  $$VALUES ('applied', 'submitted', 'in_review')$$, 'webhook: xavi in review, his document expired yesterday');
SELECT results_eq(tests.hook('w1', 'vf-xiao', 'declined', current_date - 1),
                  $$VALUES ('applied', 'submitted', 'declined')$$, 'webhook: xiao declined, his document expired yesterday');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(format('SELECT api.approve_kyc(%L, %L)', tests.id('xavi1'), now() + interval '1 year'), 'LP004',
                            'approve_kyc: a document the provider read expired is LP004');
SELECT * FROM tests.rejects(format($$SELECT api.override_kyc_decision(%L, 'approved', 'looks fine')$$, tests.id('xiao1')), 'LP004',
                            'override: approving a never approved verification whose document expired is LP004');
SELECT lives_ok(format($$SELECT api.reject_kyc(%L, 'document expired')$$, tests.id('xavi1')), 'reject_kyc: xavi declined instead');
SELECT tests.clear_authentication();

-- == 6. an underage finding on a re-verification closes the gate at once ====================================
-- The person is found to be a minor (a provider's decline, the 18+ check of a provider's approval, a reviewer's
-- decline of a verification whose provider-read date of birth is a minor's): every earlier approval that
-- counts ends now, live streams end, audited; an admin may restore an approval if the finding was wrong.
DO $$
BEGIN
    PERFORM tests.create_user('umar', 'performer', false);  -- two valid approvals; the provider's approval reads 17
    PERFORM tests.create_user('ulla', 'performer', false);  -- approved; her re-verification in review reads 16, declined by adam
    PERFORM tests.create_user('uwe', 'performer', false);   -- approved; the provider itself declines, reading 17
    INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at)
    VALUES (tests.user_id('umar'), 'identity', 'approved', 'passport', 'DE', now() - interval '100 days'),
           (tests.user_id('umar'), 'identity', 'approved', 'passport', 'DE', now() - interval '10 days'),
           (tests.user_id('ulla'), 'identity', 'approved', 'passport', 'DE', now() - interval '10 days'),
           (tests.user_id('uwe'), 'identity', 'approved', 'passport', 'DE', now() - interval '10 days');
    UPDATE lp.users SET age_verified_at = now() - interval '10 days'
     WHERE id IN (tests.user_id('umar'), tests.user_id('ulla'), tests.user_id('uwe'));
    PERFORM tests.remember('umar-old', (SELECT id FROM lp.kyc_verifications
                                         WHERE user_id = tests.user_id('umar') AND reviewed_at = now() - interval '10 days'));
    PERFORM tests.remember('umar1', tests.provider_kyc('umar', 'vf-umar'));
    PERFORM tests.remember('ulla1', tests.provider_kyc('ulla', 'vf-ulla'));
    PERFORM tests.remember('uwe1', tests.provider_kyc('uwe', 'vf-uwe'));
    PERFORM tests.authenticate_as('umar');
    PERFORM tests.remember('umar-live', (api.schedule_stream('umar live')).id);
    PERFORM api.consent_to_stream(tests.id('umar-live'), '203.0.113.2');
    PERFORM api.start_stream(tests.id('umar-live'));
    PERFORM tests.clear_authentication();
END
$$;
SELECT is(tests.refusal(tests.user_id('umar')), 'valid', 'umar is verified before his re-verification');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('u1', 'vf-umar', 'approved', current_date + 100, (current_date - interval '17 years')::date),
                  $$VALUES ('applied', 'submitted', 'declined')$$, 'webhook: the provider''s approval reads 17: declined');
SELECT tests.clear_authentication();
SELECT is(tests.refusal(tests.user_id('umar')), 'identity verification expired: re-verification needed',
          'underage finding: the gate closes at once, through neither earlier approval');
SELECT is((SELECT array_agg(status::text || '/' || decided_by ORDER BY id) FROM lp.kyc_verifications
            WHERE user_id = tests.user_id('umar') AND id <> tests.id('umar1')),
          ARRAY['declined/age_check', 'declined/age_check'], 'underage finding: both earlier approvals end');
SELECT results_eq(format($$SELECT status::text, end_reason FROM lp.streams WHERE id = %L$$, tests.id('umar-live')),
                  $$VALUES ('ended', 'go-live gate')$$, 'underage finding: his live stream ends at once');
SELECT is((SELECT age_verified_at FROM lp.users WHERE id = tests.user_id('umar')), NULL::timestamptz,
          'underage finding: no longer age verified');
SELECT results_eq($$SELECT actor_id, target_id, (details ->> 'finding_verification_id')::uuid,
                           jsonb_array_length(details -> 'revoked'), (details ->> 'streams_ended')::integer
                      FROM lp.audit_logs WHERE action = 'kyc.underage_revoke' AND target_type = 'user'
                       AND target_id = tests.user_id('umar')::text$$,
                  format($$VALUES (NULL::uuid, %L, %L::uuid, 2, 1)$$, tests.user_id('umar'), tests.id('umar1')),
                  'underage finding: audited (no actor: the provider), the two approvals and the stream');

SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('l1', 'vf-ulla', 'in_review', NULL, (current_date - interval '16 years')::date),
                  $$VALUES ('applied', 'submitted', 'in_review')$$, 'webhook: ulla in review, the provider read 16');
SELECT results_eq(tests.hook('w2', 'vf-uwe', 'declined', NULL, (current_date - interval '17 years')::date),
                  $$VALUES ('applied', 'submitted', 'declined')$$, 'webhook: the provider declines uwe, reading 17');
SELECT tests.clear_authentication();
SELECT is(tests.refusal(tests.user_id('uwe')), 'identity verification expired: re-verification needed',
          'a provider''s own decline of a minor: the gate closes at once');
SELECT results_eq(format('SELECT reason::text, priority::text FROM lp.reports WHERE reported_user_id = %L', tests.user_id('uwe')),
                  $$VALUES ('underage', 'critical')$$, 'a provider''s own decline of a minor: a critical underage case is filed');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format($$SELECT api.reject_kyc(%L, 'under age')$$, tests.id('ulla1')), 'reject_kyc: adam declines ulla''s');
SELECT tests.clear_authentication();
SELECT is(tests.refusal(tests.user_id('ulla')), 'identity verification expired: re-verification needed',
          'a reviewer''s decline of a minor: the gate closes at once');
SELECT is((SELECT actor_id FROM lp.audit_logs WHERE action = 'kyc.underage_revoke' AND target_id = tests.user_id('ulla')::text),
          tests.user_id('adam'), 'a reviewer''s finding: audited with the reviewer as actor');
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action = 'kyc.underage_revoke' AND target_id = tests.user_id('mina')::text),
          0::bigint, 'a finding with no approval to end writes no revocation');
-- A wrong finding: an admin restores the approval, with its period from its first approval.
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format($$SELECT api.override_kyc_decision(%L, 'approved', 'the provider misread the document')$$,
                       tests.id('umar-old')), 'override: an admin restores an approval the finding ended');
SELECT tests.clear_authentication();
SELECT is(tests.gate('umar'), now() - interval '10 days' + interval '365 days', 'restored: the gate counts from the first approval');

-- == 7. only compliance officers read a verified date of birth (and the person their own) ===================
-- An admin (the manual reviewer) tries every way that returns one: the table, each api function returning a
-- verification row, the decrypted record.
DO $$
BEGIN
    PERFORM tests.create_user('dobb', 'performer', false);  -- in review; approved, then declined by override
    PERFORM tests.create_user('dori', 'performer', false);  -- in review; rejected
    PERFORM tests.create_user('cora', 'compliance_officer');
    PERFORM tests.remember('dobb1', tests.provider_kyc('dobb', 'vf-dobb'));
    PERFORM tests.remember('dori1', tests.provider_kyc('dori', 'vf-dori'));
END
$$;
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT results_eq(tests.hook('b1', 'vf-dobb', 'in_review', NULL, DATE '1991-02-03'), $$VALUES ('applied', 'submitted', 'in_review')$$,
                  'webhook: dobb in review, the provider read his date of birth');
SELECT results_eq(tests.hook('b2', 'vf-dori', 'in_review', NULL, DATE '1992-03-04'), $$VALUES ('applied', 'submitted', 'in_review')$$,
                  'webhook: dori in review, the provider read her date of birth');
SELECT tests.authenticate_as('adam');
SELECT throws_ok($$SELECT verified_date_of_birth FROM lp.kyc_verifications$$, '42501', NULL,
                 'admin: the verified date of birth is not readable from the table');
SELECT is((SELECT verified_date_of_birth FROM api.list_pending_kyc(NULL, 1000) WHERE id = tests.id('dobb1')), NULL::date,
          'admin: api.list_pending_kyc returns no date of birth');
SELECT is((SELECT verified_date_of_birth FROM api.get_kyc_status(tests.user_id('dobb'))), NULL::date,
          'admin: api.get_kyc_status of another user returns no date of birth');
SELECT is((SELECT verified_date_of_birth FROM api.approve_kyc(tests.id('dobb1'))), NULL::date,
          'admin: api.approve_kyc returns no date of birth');
SELECT is((SELECT verified_date_of_birth FROM api.override_kyc_decision(tests.id('dobb1'), 'declined', 'fraud suspected')),
          NULL::date, 'admin: api.override_kyc_decision returns no date of birth');
SELECT is((SELECT verified_date_of_birth FROM api.reject_kyc(tests.id('dori1'), 'blurred')), NULL::date,
          'admin: api.reject_kyc returns no date of birth');
SELECT * FROM tests.rejects(format('SELECT * FROM api.kyc_record(%L)', tests.id('dobb1')), 'LP002',
                            'admin: api.kyc_record is LP002');
SELECT tests.authenticate_as('cora');
SELECT is((SELECT verified_date_of_birth FROM api.get_kyc_status(tests.user_id('dobb'))), NULL::date,
          'compliance officer: not through api.get_kyc_status either (unaudited)');
SELECT is((SELECT date_of_birth FROM api.kyc_record(tests.id('dobb1'))), DATE '1991-02-03',
          'compliance officer: api.kyc_record (audited) reads it');
SELECT tests.authenticate_as('dobb');
SELECT is((SELECT verified_date_of_birth FROM api.get_kyc_status()), DATE '1991-02-03', 'the person reads their own');
SELECT tests.clear_authentication();
-- Every api function a role may call that returns a verification row or a date of birth column is one of those.
SELECT set_eq($$SELECT p.proname::text FROM pg_proc AS p
                 WHERE p.pronamespace = 'api'::regnamespace
                   AND (p.prorettype = 'lp.kyc_verifications'::regtype
                        OR EXISTS (SELECT 1 FROM unnest(p.proargnames, p.proargmodes) AS a(name, mode)
                                    WHERE a.mode IN ('o', 't', 'b') AND a.name ~ 'birth'))
                   AND (has_function_privilege('livepanty_app', p.oid, 'EXECUTE')
                        OR has_function_privilege('livepanty_service', p.oid, 'EXECUTE'))$$,
              ARRAY['approve_kyc', 'reject_kyc', 'override_kyc_decision', 'get_kyc_status', 'list_pending_kyc',
                    'submit_kyc', 'kyc_record'],
              'catalog: the api functions returning a verification or a date of birth are the ones checked here (submit_kyc: the person''s own)');

-- == 8. a revocation revokes one verification, not the person ==============================================
-- Two valid approvals are two verifications (a re-verification approved before the first lapsed): revoking one
-- leaves the gate open through the other; revoking both closes it and ends the live stream.
DO $$
BEGIN
    PERFORM tests.create_user('tina', 'performer', false);
    INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at)
    VALUES (tests.user_id('tina'), 'identity', 'approved', 'passport', 'DE', now() - interval '300 days'),
           (tests.user_id('tina'), 'identity', 'approved', 'passport', 'DE', now() - interval '5 days');
    PERFORM tests.remember('tina-old', (SELECT id FROM lp.kyc_verifications
                                         WHERE user_id = tests.user_id('tina') AND reviewed_at = now() - interval '300 days'));
    PERFORM tests.remember('tina-new', (SELECT id FROM lp.kyc_verifications
                                         WHERE user_id = tests.user_id('tina') AND reviewed_at = now() - interval '5 days'));
    PERFORM tests.authenticate_as('tina');
    PERFORM tests.remember('tina-live', (api.schedule_stream('tina live')).id);
    PERFORM api.consent_to_stream(tests.id('tina-live'), '203.0.113.3');
    PERFORM api.start_stream(tests.id('tina-live'));
    PERFORM tests.clear_authentication();
END
$$;
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format($$SELECT api.override_kyc_decision(%L, 'declined', 'document doubtful')$$, tests.id('tina-new')),
                'override: tina''s newer approval is revoked');
SELECT tests.clear_authentication();
SELECT is(row(tests.refusal(tests.user_id('tina')), tests.gate('tina'))::text,
          row('valid', now() - interval '300 days' + interval '365 days')::text,
          'one of two approvals revoked: the gate stays open through the other, until its own end');
SELECT is((SELECT status::text FROM lp.streams WHERE id = tests.id('tina-live')), 'live', 'one revoked: her stream stays live');
SELECT tests.authenticate_as('adam');
SELECT lives_ok(format($$SELECT api.override_kyc_decision(%L, 'declined', 'document doubtful')$$, tests.id('tina-old')),
                'override: her other approval is revoked too');
SELECT tests.clear_authentication();
SELECT is(tests.refusal(tests.user_id('tina')), 'identity verification expired: re-verification needed',
          'both revoked: the gate closes');
SELECT is((SELECT status::text FROM lp.streams WHERE id = tests.id('tina-live')), 'ended', 'both revoked: her stream ends at once');

SELECT * FROM finish();
ROLLBACK;
