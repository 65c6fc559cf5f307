-- Reports and automated flags, one review queue (issue 9, section 2). api.report files a report of a user,
-- stream, tip message or profile, merged into the one open case of that target and reason (one filing per
-- reporter), never of oneself; reporter reputation deprioritises serial dismissed reporters. Priority from
-- severity, reporters, confidence and history; critical reasons jump the queue. Claims with a lease
-- (api.claim_case, api.extend_case_claim, api.release_case): only the claimant works a case while it holds.
-- SLA in business days, escalated by api.escalate_cases, overdue shown by api.review_queue. api.resolve_case
-- with a statement of reasons readable by the affected user (api.my_case_decisions), never the reporters.
-- api.raise_flag: per category thresholds ignore / queue / act at once; resolutions feed detector precision.
BEGIN;
SELECT plan(148);

-- Helpers of this file (SECURITY DEFINER: past RLS, whatever role acts):
--   tests.case_row(id)                    the case
--   tests.claim(id, user) / tests.expire_claim(id)   a running claim of the user / the claim ran out
--   tests.state()                         everything a refusal must leave as it was
--   tests.rejects(query, code, text)      throws_ok + the state unchanged (two assertions)
CREATE FUNCTION tests.case_row(p_id uuid) RETURNS lp.reports
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT r.* FROM lp.reports AS r WHERE r.id = p_id
$$;
CREATE FUNCTION tests.claim(p_id uuid, p_user text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.reports SET status = 'in_review', assigned_to = tests.user_id(p_user), claimed_at = now(),
                          claim_expires_at = now() + interval '30 minutes' WHERE id = p_id
$$;
CREATE FUNCTION tests.expire_claim(p_id uuid) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.reports SET claimed_at = now() - interval '1 hour', claim_expires_at = now() - interval '1 second'
     WHERE id = p_id
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(' / ',
        (SELECT string_agg(concat_ws(',', r.id, r.status, r.reporter_count, r.trusted_reporter_count, r.flag_count,
                                     r.priority, r.priority_score, r.assigned_to, r.claim_expires_at, r.escalated_at,
                                     r.decision), ';' ORDER BY r.id) FROM lp.reports AS r),
        (SELECT count(*) FROM lp.report_filings),
        (SELECT string_agg(f.status || f.disposition::text, ',' ORDER BY f.id) FROM lp.moderation_flags AS f),
        (SELECT count(*) || ',' || count(revoked_at) FROM lp.user_sanctions),
        (SELECT string_agg(s.status::text, ',' ORDER BY s.id) FROM lp.streams AS s),
        (SELECT count(*) FROM lp.tips WHERE message IS NOT NULL),
        (SELECT count(*) FROM lp.audit_logs))
$$;
CREATE FUNCTION tests.live(p_host text, p_title text) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_stream uuid;
BEGIN
    PERFORM tests.authenticate_as(p_host);
    v_stream := (api.schedule_stream(p_title)).id;
    PERFORM api.consent_to_stream(v_stream, '203.0.113.1');
    PERFORM api.start_stream(v_stream);
    PERFORM tests.clear_authentication();
    RETURN v_stream;
END
$$;
CREATE FUNCTION tests.report(p_user text, p_type text, p_target uuid, p_reason text) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_case uuid;
BEGIN
    PERFORM tests.authenticate_as(p_user);
    v_case := (api.report(p_type, p_target, p_reason, 'seen it')).case_id;
    PERFORM tests.clear_authentication();
    RETURN v_case;
END
$$;
-- A reporter with a record: p_n filings on cases already dismissed.
CREATE FUNCTION tests.dismissed_record(p_user text, p_n integer) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v_case uuid;
BEGIN
    FOR i IN 1 .. p_n LOOP
        INSERT INTO lp.reports (reported_user_id, reason, status, resolved_at, target_type, action, decision,
                                reporter_count)
        VALUES (tests.user_id('paula'), 'other', 'dismissed', now() - make_interval(days => i), 'profile', 'dismiss',
                '{"facts": "nothing"}', 1)
        RETURNING id INTO v_case;
        INSERT INTO lp.report_filings (case_id, reporter_id, trusted) VALUES (v_case, tests.user_id(p_user), true);
    END LOOP;
END
$$;

DO $$
BEGIN
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('paula', 'performer');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('wes');
    PERFORM tests.create_user('xena');
    PERFORM tests.create_user('yan');
    PERFORM tests.create_user('zed');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('max', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.remember('s_pia', tests.live('pia', 'pia live'));
    PERFORM tests.remember('s_paula', tests.live('paula', 'paula live'));
    UPDATE lp.settings SET value = '3' WHERE key = 'review.escalate_hours';
END
$$;

-- == reporting: api.report =================================================================================
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.report('user', %L, 'harassment')$$, tests.user_id('vic')),
                            'LP140', 'deny: reporting yourself is LP140');
SELECT * FROM tests.rejects(format($$SELECT api.report('profile', %L, 'spam')$$, tests.user_id('vic')),
                            'LP140', 'deny: reporting your own profile is LP140');
SELECT * FROM tests.rejects(format($$SELECT api.report('user', %L, 'rude')$$, tests.user_id('wes')),
                            'LP018', 'deny: a reason outside the catalogue is LP018');
SELECT * FROM tests.rejects(format($$SELECT api.report('user', %L, 'sanction_review')$$, tests.user_id('wes')),
                            'LP018', 'deny: sanction_review is for the system only (LP018)');
SELECT * FROM tests.rejects(format($$SELECT api.report('user', %L, 'spam')$$, gen_random_uuid()),
                            'LP003', 'deny: an unknown user is LP003');
SELECT tests.authenticate_as('pia');
SELECT * FROM tests.rejects(format($$SELECT api.report('stream', %L, 'spam')$$, tests.id('s_pia')),
                            'LP140', 'deny: a host reporting her own stream is LP140');
SELECT tests.authenticate_as('paula');
SELECT tests.remember('s_private', (api.schedule_stream('paula alone', p_visibility => 'private')).id);
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.report('stream', %L, 'spam')$$, tests.id('s_private')),
                            'LP003', 'deny: a private stream the reporter may not see is LP003 (its existence is not told)');
SELECT tests.clear_authentication();

SELECT tests.remember('c_harass', tests.report('vic', 'user', tests.user_id('wes'), 'harassment'));
SELECT is((tests.case_row(tests.id('c_harass'))).reporter_count, 1, 'allow: vic reports wes; a case with one reporter');
SELECT is((tests.case_row(tests.id('c_harass'))).status::text || '/' || (tests.case_row(tests.id('c_harass'))).source,
          'open/report', 'the case is open, opened by a report');
SELECT is(tests.audits('report.file', tests.id('c_harass')), 1::bigint, 'audited report.file');
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects(format($$SELECT api.report('user', %L, 'harassment')$$, tests.user_id('wes')),
                            'LP141', 'deny: one filing per reporter per case (LP141)');
SELECT tests.clear_authentication();
SELECT is(tests.report('xena', 'user', tests.user_id('wes'), 'harassment'), tests.id('c_harass'),
          'merge: xena''s report of the same target and reason joins the open case');
SELECT is((tests.case_row(tests.id('c_harass'))).reporter_count, 2, 'merge: the reporter count is 2');
SELECT tests.remember('c_spam', tests.report('xena', 'user', tests.user_id('wes'), 'spam'));
SELECT isnt(tests.id('c_spam'), tests.id('c_harass'), 'another reason is another case');
SELECT isnt(tests.report('xena', 'profile', tests.user_id('wes'), 'harassment'), tests.id('c_harass'),
            'another target (the profile) is another case');
SELECT tests.authenticate_as('wes');
SELECT is((SELECT count(*) FROM lp.report_filings), 0::bigint, 'the reported user reads no filing');
SELECT is((SELECT count(*) FROM lp.reports), 0::bigint, 'the reported user reads no case (nor its reporters)');
SELECT tests.authenticate_as('vic');
SELECT is((SELECT count(*) FROM lp.report_filings), 1::bigint, 'a reporter reads their own filing');
SELECT tests.authenticate_as('mona');
SELECT is((SELECT count(*) FROM lp.report_filings WHERE case_id = tests.id('c_harass')), 2::bigint,
          'staff read every filing');
SELECT tests.clear_authentication();

-- tip messages: the recipient may report one
SELECT tests.fund('vic', 1000);
SELECT tests.authenticate_as('vic');
SELECT tests.remember('tip1', (api.tip(tests.user_id('paula'), 10, 'rq-tip-1', NULL, 'a rude message')).id);
SELECT tests.clear_authentication();
SELECT tests.remember('c_tip', tests.report('paula', 'tip', tests.id('tip1'), 'harassment'));
SELECT is((tests.case_row(tests.id('c_tip'))).reported_user_id, tests.user_id('vic'),
          'allow: a tip message reported by its recipient; the sender is the reported user');
SELECT tests.authenticate_as('wes');
SELECT * FROM tests.rejects(format($$SELECT api.report('tip', %L, 'harassment')$$, tests.id('tip1')),
                            'LP003', 'deny: a private tip someone else received is not found (LP003)');
SELECT tests.clear_authentication();
-- a tip sent in a private stream: only who may see the stream saw it in its chat
SELECT tests.create_user('pru', 'performer');
SELECT tests.authenticate_as('pru');
SELECT tests.remember('s_pru', (api.schedule_stream('pru alone', p_visibility => 'private')).id);
SELECT api.consent_to_stream(tests.id('s_pru'), '203.0.113.1');
SELECT api.start_stream(tests.id('s_pru'));
SELECT tests.clear_authentication();
SELECT tests.fund('max', 100);
SELECT tests.authenticate_as('max');  -- staff see a private stream (a viewer's tip naming it is LP003)
SELECT tests.remember('tip2', (api.tip(tests.user_id('pru'), 10, 'rq-tip-2', tests.id('s_pru'), 'in private')).id);
SELECT tests.authenticate_as('wes');
SELECT * FROM tests.rejects(format($$SELECT api.report('tip', %L, 'harassment')$$, tests.id('tip2')),
                            'LP003', 'deny: a tip sent in a private stream the reporter may not see is LP003');
SELECT tests.clear_authentication();

-- == priority ===============================================================================================
SELECT tests.remember('c_minor', tests.report('yan', 'stream', tests.id('s_pia'), 'underage'));
SELECT is((tests.case_row(tests.id('c_minor'))).priority, 'critical', 'an underage report is critical');
SELECT is((tests.case_row(tests.id('c_minor'))).reported_user_id, tests.user_id('pia'), 'a stream''s host is the reported user');
SELECT cmp_ok((tests.case_row(tests.id('c_harass'))).priority_score, '>',
              (tests.case_row(tests.id('c_spam'))).priority_score, 'harassment by 2 outranks spam by 1');
SELECT tests.authenticate_as('mona');
SELECT is((SELECT case_id FROM api.review_queue() LIMIT 1), tests.id('c_minor'), 'critical jumps the queue');
SELECT is((SELECT array_agg(case_id) FROM api.review_queue(p_limit => 2))[2], tests.id('c_harass'),
          'then the highest score');
SELECT is((SELECT case_id FROM api.review_queue(p_after => tests.id('c_minor'), p_limit => 1)), tests.id('c_harass'),
          'keyset: the page after the first case starts with the second');
SELECT tests.clear_authentication();
-- reporter reputation
SELECT tests.dismissed_record('zed', 5);
SELECT tests.remember('c_zed', tests.report('zed', 'user', tests.user_id('paula'), 'copyright'));
SELECT tests.remember('c_vic_hate', tests.report('vic', 'user', tests.user_id('pia'), 'copyright'));
SELECT is((SELECT trusted FROM lp.report_filings WHERE case_id = tests.id('c_zed')), false,
          'reputation: a reporter with 5 dismissed reports is deprioritised (filing not trusted)');
SELECT is((SELECT trusted FROM lp.report_filings WHERE case_id = tests.id('c_vic_hate')), true,
          'a reporter without that record is trusted');
SELECT cmp_ok((tests.case_row(tests.id('c_zed'))).priority_score, '<',
              (tests.case_row(tests.id('c_vic_hate'))).priority_score,
              'the same reason from a deprioritised reporter ranks lower');
SELECT is((tests.case_row(tests.id('c_zed'))).reporter_count, 1, 'but it is counted');

-- == claims and leases ======================================================================================
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects('SELECT * FROM api.claim_case()', 'LP002', 'deny: a viewer cannot claim (LP002)');
SELECT * FROM tests.rejects('SELECT * FROM api.review_queue()', 'LP002', 'deny: a viewer cannot read the queue (LP002)');
SELECT tests.authenticate_as('mona');
SELECT is((SELECT id FROM api.claim_case()), tests.id('c_minor'), 'allow: mona claims the first case (critical)');
SELECT is((tests.case_row(tests.id('c_minor'))).status::text || '/' || ((tests.case_row(tests.id('c_minor'))).assigned_to = tests.user_id('mona')),
          'in_review/true', 'the case is in review, assigned to mona');
SELECT ok((tests.case_row(tests.id('c_minor'))).claim_expires_at BETWEEN now() + interval '29 minutes' AND now() + interval '31 minutes',
          'with a lease of review.claim_minutes (30)');
SELECT tests.authenticate_as('max');
SELECT is((SELECT id FROM api.claim_case()), tests.id('c_harass'), 'max claims the next case, not mona''s');
SELECT * FROM tests.rejects(format('SELECT api.extend_case_claim(%L)', tests.id('c_minor')), 'LP142',
                            'deny: max cannot extend mona''s claim (LP142)');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'dismiss', 'f', 'r')$$, tests.id('c_minor')), 'LP142',
                            'deny: max cannot resolve the case mona holds (LP142)');
SELECT * FROM tests.rejects(format('SELECT api.release_case(%L)', tests.id('c_minor')), 'LP142',
                            'deny: max cannot release mona''s claim (LP142)');
SELECT tests.authenticate_as('mona');
SELECT tests.expire_claim(tests.id('c_minor'));
SELECT * FROM tests.rejects(format('SELECT api.extend_case_claim(%L)', tests.id('c_minor')), 'LP143',
                            'deny: an expired claim cannot be extended (LP143)');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'dismiss', 'f', 'r')$$, tests.id('c_minor')), 'LP143',
                            'deny: mona''s lease ran out, she cannot resolve (LP143)');
SELECT tests.authenticate_as('adam');
SELECT is((SELECT id FROM api.claim_case()), tests.id('c_minor'), 'lease expiry: another moderator claims the case');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'dismiss', 'f', 'r')$$, tests.id('c_minor')), 'LP142',
                            'deny: now adam holds it (LP142 for mona)');
SELECT tests.authenticate_as('adam');
SELECT ok((api.extend_case_claim(tests.id('c_minor'))).claim_expires_at > now() + interval '29 minutes',
          'allow: the claimant extends the lease');
SELECT is((api.release_case(tests.id('c_minor'))).status::text, 'open', 'allow: the claimant releases; the case is open again');
SELECT * FROM tests.rejects(format('SELECT api.release_case(%L)', tests.id('c_minor')), 'LP143',
                            'deny: releasing a case one does not hold (LP143)');
SELECT is(tests.audits('case.claim', tests.id('c_minor')), 2::bigint, 'claims audited (case.claim)');
SELECT tests.clear_authentication();
UPDATE lp.users SET role = 'moderator' WHERE id = tests.user_id('yan');
SELECT tests.authenticate_as('yan');
SELECT isnt((SELECT id FROM api.claim_case()), tests.id('c_minor'), 'a moderator never claims a case they reported');
SELECT tests.clear_authentication();
UPDATE lp.reports SET status = 'open', assigned_to = NULL, claimed_at = NULL, claim_expires_at = NULL
 WHERE assigned_to = tests.user_id('yan');
UPDATE lp.users SET role = 'viewer' WHERE id = tests.user_id('yan');

-- == SLA ====================================================================================================
SELECT is(lp.business_days_after('2026-12-04 10:00+00', 1), '2026-12-07 10:00+00'::timestamptz,
          'one business day after a Friday is the Monday');
SELECT is(lp.business_days_after('2026-12-04 10:00+00', 7), '2026-12-15 10:00+00'::timestamptz,
          'seven business days skip two weekends');
SELECT is((tests.case_row(tests.id('c_spam'))).due_at, lp.business_days_after((tests.case_row(tests.id('c_spam'))).created_at, 7),
          'a content complaint is due in 7 business days (review.sla_business_days default)');
SELECT is((tests.case_row(tests.id('c_minor'))).due_at, lp.business_days_after((tests.case_row(tests.id('c_minor'))).created_at, 1),
          'an underage case in 1');
SELECT ok(NOT has_function_privilege('livepanty_app', 'api.escalate_cases(integer)', 'EXECUTE'),
          'deny: the application cannot run the escalation job');
SELECT is(api.escalate_cases(), 0, 'deny: nothing is close to due, nothing escalates');
UPDATE lp.reports SET due_at = now() + interval '2 hours' WHERE id = tests.id('c_spam');
UPDATE lp.reports SET due_at = now() - interval '1 hour' WHERE id = tests.id('c_zed');
SELECT is(api.escalate_cases(), 2, 'allow: the case due in 2 hours and the overdue one escalate');
SELECT is((tests.case_row(tests.id('c_spam'))).status::text || '/' || (tests.case_row(tests.id('c_spam'))).priority,
          'escalated/high', 'escalated: status escalated, priority at least high');
SELECT is(api.escalate_cases(), 0, 'each escalates once');
SELECT tests.authenticate_as('mona');
SELECT is((SELECT array_agg(case_id::text || overdue::text) FROM api.review_queue(p_overdue_only => true)),
          ARRAY[tests.id('c_zed')::text || 'true'], 'the queue shows what is overdue');
SELECT tests.clear_authentication();

-- == resolution =============================================================================================
SELECT tests.claim(tests.id('c_harass'), 'max');
SELECT tests.authenticate_as('max');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'warn', NULL, 'r')$$, tests.id('c_harass')), 'LP018',
                            'deny: no statement of facts (LP018)');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'sanction', 'f', 'r')$$, tests.id('c_harass')), 'LP018',
                            'deny: a sanction without its type (LP018)');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'ignore', 'f', 'r')$$, tests.id('c_harass')), 'LP018',
                            'deny: an unknown action (LP018)');
SELECT is((api.resolve_case(tests.id('c_harass'), 'warn', 'Repeated insults to vic in chat.', 'Community rule 2: harassment')).status::text,
          'resolved', 'allow: the claimant warns wes; the case is resolved');
SELECT is((SELECT sanction_type::text FROM lp.user_sanctions WHERE report_id = tests.id('c_harass')), 'warning',
          'a warning was issued on the case (lp.issue_sanction)');
SELECT ok((SELECT decision ?& ARRAY['facts', 'rule', 'automated', 'appeal'] FROM lp.reports WHERE id = tests.id('c_harass')),
          'the statement of reasons holds facts, rule, automated, appeal');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'dismiss', 'f', 'r')$$, tests.id('c_harass')), 'LP004',
                            'deny: a resolved case cannot be resolved again (LP004)');
SELECT tests.authenticate_as('wes');
SELECT is((SELECT row(action, automated, facts, rule)::text FROM api.my_case_decisions() WHERE case_id = tests.id('c_harass')),
          '(warn,f,"Repeated insults to vic in chat.","Community rule 2: harassment")',
          'the affected user reads the statement of reasons');
SELECT ok((SELECT appeal FROM api.my_case_decisions() WHERE case_id = tests.id('c_harass')) LIKE '%appeal%',
          'with how to appeal');
SELECT is((SELECT count(*) FROM information_schema.routines AS r
             JOIN information_schema.parameters AS p ON p.specific_name = r.specific_name
            WHERE r.routine_schema = 'api' AND r.routine_name = 'my_case_decisions' AND p.parameter_name LIKE '%report%'),
          0::bigint, 'no reporter column in what the affected user reads');
SELECT tests.authenticate_as('vic');
SELECT is((SELECT count(*) FROM api.my_case_decisions()), 0::bigint, 'others (the reporter) do not read the decision about wes');
SELECT tests.clear_authentication();

SELECT tests.claim(tests.id('c_spam'), 'mona');
SELECT tests.authenticate_as('mona');
SELECT is((api.resolve_case(tests.id('c_spam'), 'dismiss', 'Messages were ordinary.', 'No rule broken')).status::text,
          'dismissed', 'allow: dismiss');
SELECT tests.clear_authentication();
SELECT tests.claim(tests.id('c_tip'), 'mona');
SELECT tests.authenticate_as('mona');
SELECT is((api.resolve_case(tests.id('c_tip'), 'remove_content', 'Insult in a tip message.', 'Rule 2')).action::text,
          'remove_content', 'allow: remove the content');
SELECT tests.clear_authentication();
SELECT is((SELECT message FROM lp.tips WHERE id = tests.id('tip1')), NULL, 'the tip message is gone');
SELECT tests.claim(tests.id('c_minor'), 'mona');
SELECT tests.authenticate_as('mona');
SELECT is((api.resolve_case(tests.id('c_minor'), 'end_stream', 'Person looking under 18 on camera.', 'Rule 1: 18+ only')).action::text,
          'end_stream', 'allow: end the stream');
SELECT tests.clear_authentication();
SELECT is((SELECT status::text FROM lp.streams WHERE id = tests.id('s_pia')), 'ended', 'pia''s stream ended');
SELECT tests.claim(tests.id('c_vic_hate'), 'mona');
SELECT tests.authenticate_as('mona');
SELECT is((api.resolve_case(tests.id('c_vic_hate'), 'sanction', 'Slur on stream.', 'Rule 3: hate speech', 'suspension',
                            now() + interval '3 days')).sanction_id IS NOT NULL, true, 'allow: sanction (a 3-day suspension)');
SELECT tests.clear_authentication();
SELECT is((SELECT sanction_type::text FROM lp.user_sanctions WHERE report_id = tests.id('c_vic_hate')), 'suspension',
          'pia is suspended');

-- == automated flags: api.raise_flag ========================================================================
SELECT ok(NOT has_function_privilege('livepanty_app', 'api.raise_flag(text, text, numeric, text, text, uuid, uuid, jsonb)', 'EXECUTE'),
          'deny: only the service raises flags');
SELECT * FROM tests.rejects(format($$SELECT api.raise_flag('vision-v1', 'aliens', 0.5, 'stream_video', NULL, %L)$$, tests.id('s_paula')),
                            'LP018', 'deny: an unknown category (LP018)');
SELECT * FROM tests.rejects(format($$SELECT api.raise_flag('vision-v1', 'violence', 1.5, 'stream_video', NULL, %L)$$, tests.id('s_paula')),
                            'LP018', 'deny: a confidence above 1 (LP018)');
SELECT * FROM tests.rejects($$SELECT api.raise_flag('vision-v1', 'violence', 0.5, 'stream_video')$$,
                            'LP018', 'deny: neither stream nor user (LP018)');
SELECT tests.remember('f_ign', (api.raise_flag('vision-v1', 'nudity', 0.5, 'stream_video', 'seg-1', tests.id('s_paula'))).id);
SELECT is((SELECT disposition::text || '/' || status || '/' || (case_id IS NULL) FROM lp.moderation_flags WHERE id = tests.id('f_ign')),
          'ignored/dismissed/true', 'below the review threshold: ignored, no case');
SELECT tests.remember('f_q1', (api.raise_flag('vision-v1', 'violence', 0.7, 'stream_video', 'seg-2', tests.id('s_paula'))).id);
SELECT tests.remember('c_viol', (SELECT case_id FROM lp.moderation_flags WHERE id = tests.id('f_q1')));
SELECT is((tests.case_row(tests.id('c_viol'))).source::text || '/' || (tests.case_row(tests.id('c_viol'))).reported_user_id::text,
          'flag/' || tests.user_id('paula'), 'from the review threshold: queued in a case (the host reported)');
SELECT tests.remember('f_q2', (api.raise_flag('audio-v2', 'weapons', 0.9, 'stream_audio', 'seg-3', tests.id('s_paula'))).id);
SELECT is((SELECT case_id FROM lp.moderation_flags WHERE id = tests.id('f_q2')), tests.id('c_viol'),
          'another detector on the same stream and reason merges into the case');
SELECT is((tests.case_row(tests.id('c_viol'))).flag_count, 2, 'flag count 2');
SELECT is((SELECT status::text FROM lp.streams WHERE id = tests.id('s_paula')), 'live', 'queued flags leave the stream live');
SELECT tests.remember('f_act', (api.raise_flag('vision-v1', 'minor_detected', 0.95, 'stream_video', 'seg-4', tests.id('s_paula'))).id);
SELECT tests.remember('c_act', (SELECT case_id FROM lp.moderation_flags WHERE id = tests.id('f_act')));
SELECT is((SELECT disposition::text FROM lp.moderation_flags WHERE id = tests.id('f_act')), 'acted',
          'a high-confidence minor_detected is acted upon at once');
SELECT is((SELECT status::text FROM lp.streams WHERE id = tests.id('s_paula')), 'ended', 'the stream ended');
SELECT is((SELECT sanction_type::text FROM lp.user_sanctions WHERE report_id = tests.id('c_act') AND issued_by IS NULL),
          'suspension', 'the host is suspended pending review (automated)');
SELECT is((tests.case_row(tests.id('c_act'))).priority || '/' || (tests.case_row(tests.id('c_act'))).status,
          'critical/open', 'and the case waits, critical, for a human');
SELECT tests.authenticate_as('paula');
SELECT is((SELECT automated FROM api.my_case_decisions() WHERE case_id = tests.id('c_act')), true,
          'the host reads the automated statement of reasons');
SELECT tests.clear_authentication();
SELECT tests.remember('f_low', (api.raise_flag('vision-v1', 'minor_detected', 0.5, 'profile', NULL, NULL, tests.user_id('wes'))).id);
SELECT is((SELECT disposition::text FROM lp.moderation_flags WHERE id = tests.id('f_low')), 'queued',
          'between review and act a minor_detected is queued only');
SELECT is((SELECT count(*) FROM lp.user_sanctions WHERE user_id = tests.user_id('wes') AND sanction_type = 'suspension'), 0::bigint,
          'and suspends nobody');
SELECT is((api.raise_flag('vision-v1', 'violence', 0.99, 'profile', NULL, NULL, tests.user_id('xena'))).disposition::text, 'queued',
          'above act, with no stream to end and no suspension for the category: queued (nothing to act upon)');

-- precision feedback
SELECT tests.claim(tests.id('c_viol'), 'mona');
SELECT tests.claim(tests.id('c_act'), 'max');
SELECT tests.authenticate_as('mona');
SELECT lives_ok(format($$SELECT api.resolve_case(%L, 'warn', 'Knife shown on camera.', 'Rule 4: weapons')$$, tests.id('c_viol')),
                'mona confirms the violence case');
SELECT tests.authenticate_as('max');
SELECT lives_ok(format($$SELECT api.resolve_case(%L, 'dismiss', 'Adult performer, ID checked.', 'No rule broken')$$, tests.id('c_act')),
                'max dismisses the minor_detected case');
SELECT tests.clear_authentication();
SELECT is((SELECT revoked_at IS NOT NULL FROM lp.user_sanctions WHERE report_id = tests.id('c_act') AND issued_by IS NULL), true,
          'the dismissal lifts the automated suspension');
SELECT is((SELECT string_agg(status, ',' ORDER BY status) FROM lp.moderation_flags WHERE case_id IN (tests.id('c_viol'), tests.id('c_act'))),
          'confirmed,confirmed,dismissed', 'the flags are confirmed or dismissed by the resolution');
SELECT tests.authenticate_as('mona');
SELECT is((SELECT row(confirmed, dismissed, precision_ratio)::text FROM api.detector_precision() WHERE detector = 'vision-v1'),
          '(1,1,0.5000)', 'vision-v1: one confirmed, one dismissed: precision 0.5');
SELECT is((SELECT q.detector_precision FROM api.review_queue() AS q
            WHERE q.case_id = (SELECT f.case_id FROM lp.moderation_flags AS f WHERE f.id = tests.id('f_low'))),
          0.5000, 'the queue shows the precision of the detectors of a case''s flags');
SELECT tests.clear_authentication();

-- == staff: only admins warn or sanction a moderator or admin (as api.sanction_user) ===========================
CREATE FUNCTION tests.claim_all() RETURNS uuid[]
    LANGUAGE plpgsql AS $$
DECLARE
    v_ids  uuid[] := '{}';
    v_case uuid;
BEGIN
    LOOP
        SELECT c.id INTO v_case FROM api.claim_case() AS c;
        EXIT WHEN v_case IS NULL;
        v_ids := v_ids || v_case;
    END LOOP;
    RETURN v_ids;
END
$$;
SELECT tests.remember('c_staff', tests.report('vic', 'user', tests.user_id('max'), 'harassment'));
SELECT tests.authenticate_as('mona');
SELECT ok(NOT tests.id('c_staff') = ANY (tests.claim_all()), 'deny: a moderator claiming every case she can never gets one against staff');
SELECT tests.clear_authentication();
SELECT tests.claim(tests.id('c_staff'), 'mona');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'warn', 'f', 'r')$$, tests.id('c_staff')), 'LP002',
                            'deny: a moderator cannot warn another moderator through a case (LP002)');
SELECT tests.clear_authentication();
SELECT tests.expire_claim(tests.id('c_staff'));
SELECT tests.authenticate_as('adam');
SELECT is((SELECT id FROM api.claim_case()), tests.id('c_staff'), 'allow: an admin claims the case against a moderator');
SELECT is((api.resolve_case(tests.id('c_staff'), 'warn', 'Rude to a viewer.', 'Staff conduct rule 1')).status::text, 'resolved',
          'allow: an admin warns a moderator');
SELECT tests.clear_authentication();

-- == api.user_summary.open_cases ==========================================================================
SELECT tests.authenticate_as('mona');
SELECT is((SELECT open_cases FROM api.user_summary WHERE username = 'wes'), 2,
          'staff see the open cases against wes in api.user_summary (his profile report, the flag on his profile)');
SELECT tests.authenticate_as('wes');
SELECT is((SELECT open_cases FROM api.user_summary), 0, 'wes himself does not learn of the reports against him');
SELECT tests.clear_authentication();

-- == settings: api.set_setting checks the review queue's (lp.check_review_setting) =========================
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects($$SELECT api.set_setting('review.claim_minutes', '0')$$, 'LP092',
                            'deny: a lease of 0 minutes (LP092)');
SELECT * FROM tests.rejects($$SELECT api.set_setting('reports.reputation_dismissed_percent', '101')$$, 'LP092',
                            'deny: more than 100 percent (LP092)');
SELECT * FROM tests.rejects($$SELECT api.set_setting('review.severity', '{"boring": 10}')$$, 'LP092',
                            'deny: a severity for a reason that does not exist (LP092)');
SELECT * FROM tests.rejects($$SELECT api.set_setting('review.sla_business_days', '{"underage": 1}')$$, 'LP092',
                            'deny: SLA days without a default (LP092)');
SELECT * FROM tests.rejects($$SELECT api.set_setting('flags.thresholds', '{"nudity": {"review": 0.9, "act": 0.5}}')$$, 'LP092',
                            'deny: an act threshold below the review threshold (LP092)');
SELECT * FROM tests.rejects($$SELECT api.set_setting('review.critical_reasons', '["underage", "boring"]')$$, 'LP092',
                            'deny: an unknown critical reason (LP092)');
SELECT is((api.set_setting('review.claim_minutes', '45')).value, '45'::jsonb, 'allow: a lease of 45 minutes');
SELECT is((api.set_setting('flags.thresholds', '{"minor_detected": {"review": 0.2, "act": 0.8, "suspend": true}}')).value -> 'minor_detected' ->> 'act',
          '0.8', 'allow: new thresholds');
SELECT tests.clear_authentication();

SELECT * FROM finish();
ROLLBACK;
