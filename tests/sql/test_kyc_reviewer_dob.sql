-- A reviewer's underage finding on a manual verification: api.reject_kyc with the date of birth read from the
-- document (p_verified_date_of_birth). A minor's date is an underage finding (every earlier approval that counts
-- ends, the gate closes, live streams end, a critical underage case is filed, audited); an adult's is an
-- ordinary decline that records the date; an implausible date is LP014. The date is recorded only on a
-- verification that holds none yet: a date differing from the one a provider read is LP018 (nothing decided),
-- the same date, or none, decides by the provider's. Declining a verification whose recorded date is a minor's
-- files the case too. The date is never written into an audit row or returned to the admin.
BEGIN;
SELECT plan(57);

-- Everything these functions may write: verifications, users (gate, age verification), streams, cases, audit log.
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT md5(coalesce((SELECT string_agg(k::text, '|' ORDER BY k.id) FROM lp.kyc_verifications AS k), '')
               || coalesce((SELECT string_agg(u.id::text || u.role::text || coalesce(u.kyc_valid_until::text, '-')
                                              || coalesce(u.age_verified_at::text, '-'), '|' ORDER BY u.id)
                              FROM lp.users AS u), '')
               || coalesce((SELECT string_agg(s.id::text || s.status::text, '|' ORDER BY s.id) FROM lp.streams AS s), '')
               || (SELECT count(*) FROM lp.reports)::text
               || (SELECT count(*) FROM lp.audit_logs)::text)
$$;
CREATE FUNCTION tests.kyc(p_id uuid) RETURNS lp.kyc_verifications
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT k.* FROM lp.kyc_verifications AS k WHERE k.id = p_id
$$;
CREATE FUNCTION tests.refusal(p_username text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce(lp.kyc_refusal(tests.user_id(p_username)), 'valid')
$$;
-- The user's cases as reason/priority/source.
CREATE FUNCTION tests.cases(p_username text) RETURNS text[]
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT coalesce(array_agg(r.reason::text || '/' || r.priority || '/' || r.source::text ORDER BY r.created_at, r.id),
                    '{}')
      FROM lp.reports AS r WHERE r.reported_user_id = tests.user_id(p_username)
$$;
-- The details of the one kyc.reject audit row of a verification.
CREATE FUNCTION tests.reject_audit(p_verification uuid) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT a.details FROM lp.audit_logs AS a WHERE a.action = 'kyc.reject' AND a.target_id = p_verification::text
$$;
-- A performer with an approval that still counts (10 days old, remembered as <name>-old), age verified.
CREATE FUNCTION tests.approved(p_username text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v_id uuid;
BEGIN
    PERFORM tests.create_user(p_username, 'performer', false);
    INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at)
    VALUES (tests.user_id(p_username), 'identity', 'approved', 'passport', 'DE', now() - interval '10 days')
    RETURNING id INTO v_id;
    UPDATE lp.users SET age_verified_at = now() - interval '10 days' WHERE id = tests.user_id(p_username);
    PERFORM tests.remember(p_username || '-old', v_id);
END
$$;
-- The performer goes live (remembered as <name>-live).
CREATE FUNCTION tests.go_live(p_username text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tests.authenticate_as(p_username);
    PERFORM tests.remember(p_username || '-live', (api.schedule_stream(p_username || ' live')).id);
    PERFORM api.consent_to_stream(tests.id(p_username || '-live'), '203.0.113.7');
    PERFORM api.start_stream(tests.id(p_username || '-live'));
    PERFORM tests.clear_authentication();
END
$$;
-- The performer's own manual re-verification (no provider, so no date of birth read by one).
CREATE FUNCTION tests.submit_manual(p_username text) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    PERFORM tests.authenticate_as(p_username);
    v_id := (api.submit_kyc(p_document_type => 'passport', p_document_country => 'DE',
                            p_document_front_url => 's3://kyc-docs/' || p_username || '/front.jpg')).id;
    PERFORM tests.clear_authentication();
    RETURN v_id;
END
$$;
-- A verification at a provider, in review with the date of birth the provider read.
CREATE FUNCTION tests.provider_in_review(p_username text, p_dob date) RETURNS uuid
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    INSERT INTO lp.kyc_verifications (user_id, level, status, provider, provider_reference, document_type,
                                      document_country, verified_date_of_birth)
    VALUES (tests.user_id(p_username), 'identity', 'in_review', 'veriff', 'vf-' || p_username, 'passport', 'DE', p_dob)
    RETURNING id
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
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- api.reject_kyc as a query: (status, decided_by, verified_date_of_birth) of the row it returns.
CREATE FUNCTION tests.reject_sql(p_verification text, p_reason text, p_dob date) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT format('SELECT status, decided_by, verified_date_of_birth FROM api.reject_kyc(%L, %L, %L)',
                  tests.id(p_verification), p_reason, p_dob)
$$;

DO $$
BEGIN
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.approved('mona');  -- a reviewer reads 16 on her manual re-verification
    PERFORM tests.approved('alex');  -- a reviewer reads an adult's date on his, declines for another reason
    PERFORM tests.approved('ivy');   -- the reviewer types an implausible date
    PERFORM tests.create_user('nina', 'performer', false);  -- her first verification, a reviewer reads 17
    PERFORM tests.create_user('pete', 'performer', false);  -- the provider read an adult's date, in review
    PERFORM tests.approved('pia');   -- the provider read 16 on her re-verification, in review
    PERFORM tests.go_live('mona');
    PERFORM tests.go_live('alex');
    PERFORM tests.go_live('ivy');
    PERFORM tests.go_live('pia');
    PERFORM tests.remember('mona1', tests.submit_manual('mona'));
    PERFORM tests.remember('alex1', tests.submit_manual('alex'));
    PERFORM tests.remember('ivy1', tests.submit_manual('ivy'));
    PERFORM tests.remember('nina1', tests.submit_manual('nina'));
    PERFORM tests.remember('pete1', tests.provider_in_review('pete', DATE '1991-02-03'));
    PERFORM tests.remember('pia1', tests.provider_in_review('pia', (current_date - interval '16 years')::date));
END
$$;

-- == 1. a reviewer reads a minor's date of birth on a manual re-verification: an underage finding ============
SELECT is(tests.refusal('mona'), 'valid', 'mona is verified before her re-verification is reviewed');
SELECT tests.authenticate_as('adam');
SELECT is(tests.try(tests.reject_sql('mona1', 'the passport shows she is 16', (current_date - interval '16 years')::date)),
          '(declined,admin,)', 'reject_kyc with a minor''s date of birth: declined, the date not returned to the admin');
SELECT tests.clear_authentication();
SELECT is((tests.kyc(tests.id('mona1'))).verified_date_of_birth, (current_date - interval '16 years')::date,
          'the reviewer''s date of birth is recorded on the verification');
SELECT is((tests.kyc(tests.id('mona1'))).rejection_reason, 'underage: the passport shows she is 16',
          'the rejection reason says underage');
SELECT is((SELECT status::text || '/' || decided_by FROM lp.kyc_verifications WHERE id = tests.id('mona-old')),
          'declined/age_check', 'underage finding: her earlier approval ends');
SELECT is(tests.refusal('mona'), 'identity verification expired: re-verification needed',
          'underage finding: the gate closes at once');
SELECT is((SELECT age_verified_at FROM lp.users WHERE id = tests.user_id('mona')), NULL::timestamptz,
          'underage finding: no longer age verified');
SELECT results_eq(format($$SELECT status::text, end_reason FROM lp.streams WHERE id = %L$$, tests.id('mona-live')),
                  $$VALUES ('ended', 'go-live gate')$$, 'underage finding: her live stream ends at once');
SELECT is(tests.cases('mona'), ARRAY['underage/critical/system'], 'underage finding: a critical underage case is filed');
SELECT results_eq($$SELECT actor_id, (details ->> 'finding_verification_id')::uuid,
                           jsonb_array_length(details -> 'revoked'), (details ->> 'streams_ended')::integer
                      FROM lp.audit_logs WHERE action = 'kyc.underage_revoke' AND target_id = tests.user_id('mona')::text$$,
                  format($$VALUES (%L::uuid, %L::uuid, 1, 1)$$, tests.user_id('adam'), tests.id('mona1')),
                  'underage finding: the revocation is audited, the reviewer as actor');
SELECT is(tests.reject_audit(tests.id('mona1')) - 'reason' - 'user_id' - 'level',
          jsonb_build_object('date_of_birth_given', true, 'underage', true, 'approvals_revoked', 1,
                             'underage_case_id', (SELECT id FROM lp.reports WHERE reported_user_id = tests.user_id('mona'))),
          'kyc.reject: audited with the date''s presence, the finding, the approvals ended and the case');
SELECT is((SELECT count(*) FROM lp.audit_logs
            WHERE action = 'case.open' AND target_id = (SELECT id::text FROM lp.reports WHERE reported_user_id = tests.user_id('mona'))),
          1::bigint, 'the case is audited (case.open)');

-- == 2. an adult's date of birth: an ordinary decline =======================================================
SELECT tests.authenticate_as('adam');
SELECT is(tests.try(tests.reject_sql('alex1', 'the selfie does not match', DATE '1988-07-14')), '(declined,admin,)',
          'reject_kyc with an adult''s date of birth: declined');
SELECT tests.clear_authentication();
SELECT is(row((tests.kyc(tests.id('alex1'))).verified_date_of_birth, (tests.kyc(tests.id('alex1'))).rejection_reason)::text,
          row(DATE '1988-07-14', 'the selfie does not match')::text,
          'an adult''s date: recorded, the reviewer''s reason as given');
SELECT is((SELECT status::text FROM lp.kyc_verifications WHERE id = tests.id('alex-old')), 'approved',
          'an adult''s date: the earlier approval stands');
SELECT is(tests.refusal('alex'), 'valid', 'an adult''s date: the gate stays open');
SELECT isnt((SELECT age_verified_at FROM lp.users WHERE id = tests.user_id('alex')), NULL::timestamptz,
            'an adult''s date: still age verified');
SELECT is((SELECT status::text FROM lp.streams WHERE id = tests.id('alex-live')), 'live', 'an adult''s date: his stream stays live');
SELECT is(tests.cases('alex'), '{}'::text[], 'an adult''s date: no case');
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action = 'kyc.underage_revoke' AND target_id = tests.user_id('alex')::text),
          0::bigint, 'an adult''s date: no revocation');
SELECT is(tests.reject_audit(tests.id('alex1')) - 'reason' - 'user_id' - 'level',
          '{"date_of_birth_given": true, "underage": false, "approvals_revoked": 0, "underage_case_id": null}'::jsonb,
          'kyc.reject: an ordinary decline, the date''s presence audited');

-- == 3. an implausible date of birth is LP014, nothing changed ==============================================
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(tests.reject_sql('ivy1', 'blurred', current_date + 1), 'LP014',
                            'reject_kyc: a date of birth in the future is LP014');
SELECT * FROM tests.rejects(tests.reject_sql('ivy1', 'blurred', DATE '1899-12-31'), 'LP014',
                            'reject_kyc: a date of birth before 1900 is LP014');
SELECT * FROM tests.rejects(tests.reject_sql('ivy1', 'blurred', DATE '1900-01-01'), 'LP014',
                            'reject_kyc: a date of birth on 1900-01-01 (the erasure''s marker) is LP014');
SELECT tests.clear_authentication();
SELECT is(row((tests.kyc(tests.id('ivy1'))).status, tests.refusal('ivy'))::text, row('submitted', 'valid')::text,
          'after LP014: ivy''s verification still open, her gate open');

-- == 4. a first verification: the finding files the case, nothing to revoke =================================
SELECT tests.authenticate_as('adam');
SELECT is(tests.try(tests.reject_sql('nina1', 'the document shows 17', (current_date - interval '17 years')::date)),
          '(declined,admin,)', 'reject_kyc: nina''s first verification declined with a 17-year-old''s date');
SELECT tests.clear_authentication();
SELECT is((tests.kyc(tests.id('nina1'))).rejection_reason, 'underage: the document shows 17', 'the rejection reason says underage');
SELECT is(tests.cases('nina'), ARRAY['underage/critical/system'], 'no earlier approval: the critical case is filed all the same');
SELECT is((SELECT count(*) FROM lp.audit_logs WHERE action = 'kyc.underage_revoke' AND target_id = tests.user_id('nina')::text),
          0::bigint, 'no earlier approval: no revocation written');
SELECT is(tests.refusal('nina'), 'no approved identity verification', 'nina''s gate stays closed');

-- == 5. a provider read an adult's date: the reviewer's differing date is LP018 ==============================
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(tests.reject_sql('pete1', 'under age', (current_date - interval '16 years')::date), 'LP018',
                            'reject_kyc: a minor''s date over the provider''s adult one is LP018');
SELECT * FROM tests.rejects(tests.reject_sql('pete1', 'wrong date', DATE '1988-07-14'), 'LP018',
                            'reject_kyc: another adult date over the provider''s is LP018');
SELECT is(tests.try(tests.reject_sql('pete1', 'the selfie does not match', DATE '1991-02-03')), '(declined,admin,)',
          'reject_kyc: the provider''s own date confirmed: declined');
SELECT tests.clear_authentication();
SELECT is(row((tests.kyc(tests.id('pete1'))).verified_date_of_birth, (tests.kyc(tests.id('pete1'))).rejection_reason)::text,
          row(DATE '1991-02-03', 'the selfie does not match')::text, 'the provider''s date stays, an ordinary decline');
SELECT is(tests.cases('pete'), '{}'::text[], 'the provider''s adult date confirmed: no case');

-- == 6. a provider read a minor's date: an adult date over it is LP018; declining without one is the finding =
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects(tests.reject_sql('pia1', 'blurred', DATE '1988-07-14'), 'LP018',
                            'reject_kyc: an adult date over the provider''s minor one is LP018');
SELECT is(tests.try(tests.reject_sql('pia1', 'the provider''s reading confirmed', NULL)), '(declined,admin,)',
          'reject_kyc without a date: declined on the provider''s reading');
SELECT tests.clear_authentication();
SELECT is((tests.kyc(tests.id('pia1'))).verified_date_of_birth, (current_date - interval '16 years')::date,
          'the provider''s date stays');
SELECT is((tests.kyc(tests.id('pia1'))).rejection_reason, 'underage: the provider''s reading confirmed',
          'the recorded minor''s date: the rejection reason says underage');
SELECT is((SELECT status::text || '/' || decided_by FROM lp.kyc_verifications WHERE id = tests.id('pia-old')),
          'declined/age_check', 'the recorded minor''s date: her earlier approval ends');
SELECT is(tests.refusal('pia'), 'identity verification expired: re-verification needed', 'the recorded minor''s date: the gate closes');
SELECT is((SELECT status::text FROM lp.streams WHERE id = tests.id('pia-live')), 'ended', 'the recorded minor''s date: her stream ends');
SELECT is(tests.cases('pia'), ARRAY['underage/critical/system'], 'the recorded minor''s date: a critical underage case is filed');
SELECT is(tests.reject_audit(tests.id('pia1')) ->> 'date_of_birth_given', 'false', 'kyc.reject: no date given');
SELECT is(tests.reject_audit(tests.id('pia1')) ->> 'underage', 'true', 'kyc.reject: the finding audited');

-- == 6b. an admin's override declining a verification whose recorded date is a minor's: the same finding ===
DO $$
BEGIN
    PERFORM tests.approved('otto');  -- the provider read 16 on his re-verification; an admin overrides it declined
    PERFORM tests.remember('otto1', tests.provider_in_review('otto', (current_date - interval '16 years')::date));
END
$$;
SELECT tests.authenticate_as('adam');
SELECT is((SELECT status::text FROM api.override_kyc_decision(tests.id('otto1'), 'declined', 'minor')), 'declined',
          'override_kyc_decision: adam declines otto''s verification that the provider read as 16');
SELECT tests.clear_authentication();
SELECT is((SELECT status::text || '/' || decided_by FROM lp.kyc_verifications WHERE id = tests.id('otto-old')),
          'declined/age_check', 'the override''s finding: his earlier approval ends');
SELECT is(tests.cases('otto'), ARRAY['underage/critical/system'], 'the override''s finding: a critical underage case is filed');
SELECT is((SELECT (details ->> 'underage_case_id')::uuid FROM lp.audit_logs
            WHERE action = 'kyc.override' AND target_id = tests.id('otto1')::text),
          (SELECT id FROM lp.reports WHERE reported_user_id = tests.user_id('otto')),
          'kyc.override names the case');

-- == 7. the date of birth is in no audit row and no case ===================================================
SELECT is((SELECT count(*) FROM lp.audit_logs AS a
            WHERE a.details::text ~ ((current_date - interval '16 years')::date::text || '|'
                                     || (current_date - interval '17 years')::date::text || '|1988-07-14|1991-02-03')),
          0::bigint, 'no audit row holds a verified date of birth');
SELECT is((SELECT count(*) FROM lp.reports AS r
            WHERE r.details::text ~ ((current_date - interval '16 years')::date::text || '|'
                                     || (current_date - interval '17 years')::date::text)),
          0::bigint, 'no case holds a verified date of birth');

SELECT * FROM finish();
ROLLBACK;
