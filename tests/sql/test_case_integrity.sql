-- Integrity of review cases across their sources (reports, flags, fraud controls) and the people around them:
-- a reporter never reads the case (RLS on lp.reports: staff only) and is its reporter_id only on a case a report
-- opened; a later acted flag keeps the automated decision that is in force; a dismissal lifts every automated
-- sanction of the reported user that names the case (the chargeback's tip_block too), audited sanction.revoke;
-- the moderator who resolved a sanction's case, or one who reported it, does not decide its appeal
-- (api.decide_appeal, api.list_appeals); nobody works a case against themselves or one they filed on
-- (lp.lock_claimed_case, LP002), nor reads one against themselves (RLS, api.review_queue: a reported moderator
-- does not learn who reported her); a warning or sanction of a deleted account is LP004 (the case's state), not
-- LP003.
BEGIN;
SELECT plan(59);

-- Helpers of this file (SECURITY DEFINER: past RLS, whatever role acts):
--   tests.case_row(id)                  the case
--   tests.claim(id, user)               a running claim of the user on the case
--   tests.state()                       everything a refusal must leave as it was
--   tests.rejects(query, code, text)    throws_ok + the state unchanged (two assertions)
--   tests.live(host, title)             a live stream of the host; its id
--   tests.report(user, type, id, why)   the user reports; the case id
--   tests.revokes(sanction id)          the sanction.revoke audit rows of the sanction, as text
--   tests.claim_all()                   the acting moderator claims every case she can; their ids
CREATE FUNCTION tests.case_row(p_id uuid) RETURNS lp.reports
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT r.* FROM lp.reports AS r WHERE r.id = p_id
$$;
CREATE FUNCTION tests.claim(p_id uuid, p_user text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.reports SET status = 'in_review', assigned_to = tests.user_id(p_user), claimed_at = now(),
                          claim_expires_at = now() + interval '30 minutes' WHERE id = p_id
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(' / ',
        (SELECT string_agg(concat_ws(',', r.id, r.status, r.reporter_count, r.assigned_to, r.claim_expires_at,
                                     r.action, r.decision, r.sanction_id), ';' ORDER BY r.id) FROM lp.reports AS r),
        (SELECT count(*) FROM lp.report_filings),
        (SELECT string_agg(s.id || ':' || coalesce(s.revoked_at::text, '-'), ',' ORDER BY s.id) FROM lp.user_sanctions AS s),
        (SELECT string_agg(a.status::text, ',' ORDER BY a.id) FROM lp.sanction_appeals AS a),
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
CREATE FUNCTION tests.revokes(p_sanction uuid) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT string_agg(concat_ws('|', a.target_id, a.actor_id, a.details ->> 'case_id', a.details ->> 'reason'), ';'
                      ORDER BY a.id)
      FROM lp.audit_logs AS a WHERE a.action = 'sanction.revoke' AND a.details ->> 'sanction_id' = p_sanction::text
$$;

DO $$
DECLARE
    v_payment uuid;
BEGIN
    PERFORM tests.create_user('cara');
    PERFORM tests.create_user('eve');
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('wes');
    PERFORM tests.create_user('dan');
    PERFORM tests.create_user('pia', 'performer');
    PERFORM tests.create_user('paula', 'performer');
    PERFORM tests.create_user('pam', 'performer');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('max', 'moderator');
    PERFORM tests.create_user('mia', 'moderator');
    PERFORM tests.create_user('ava', 'admin');
    -- A chargeback on cara: the fraud controls open a fraud case on her and tip_block her (automated, naming it).
    PERFORM tests.authenticate_as('cara');
    v_payment := (api.create_payment('small', 'stripe', 'buy-1')).id;
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    PERFORM api.complete_payment(v_payment, 'ch_secret_ref_1', 'complete-1');
    PERFORM api.chargeback_payment(v_payment, 'stolen card', 'cb-1');
    PERFORM tests.clear_authentication();
    PERFORM tests.remember('cara_tb', (SELECT s.id FROM lp.user_sanctions AS s
                                        WHERE s.user_id = tests.user_id('cara') AND s.sanction_type = 'tip_block'));
    PERFORM tests.remember('c_fraud', (SELECT s.report_id FROM lp.user_sanctions AS s WHERE s.id = tests.id('cara_tb')));
    PERFORM tests.remember('s_pia', tests.live('pia', 'pia live'));
    PERFORM tests.remember('s_paula', tests.live('paula', 'paula live'));
    PERFORM tests.remember('s_pam', tests.live('pam', 'pam live'));
END
$$;

-- == a reporter reads no case (RLS on lp.reports: staff only) ===============================================
SELECT is(tests.report('eve', 'user', tests.user_id('cara'), 'fraud'), tests.id('c_fraud'),
          'setup: eve''s fraud report of cara merges into the case the chargeback opened');
SELECT is((tests.case_row(tests.id('c_fraud'))).reporter_id, NULL,
          'a report into a case the fraud controls opened does not make eve its reporter (reporter_id stays NULL)');
SELECT tests.authenticate_as('eve');
SELECT is_empty($$SELECT id, description, details::text, decision::text, resolution, sanction_id FROM lp.reports$$,
                'attacker: eve, who reported into cara''s fraud case, reads none of it (payment, provider reference, decision)');
SELECT is_empty($$SELECT id FROM lp.reports WHERE details::text LIKE '%ch_secret_ref_1%' OR description LIKE '%ch_secret_ref_1%'$$,
                'attacker: nor finds the provider reference of cara''s payment by searching');
SELECT is((SELECT count(*)::integer FROM lp.report_filings), 1, 'eve reads her own filing');
SELECT tests.authenticate_as('eve', 'livepanty_service');
SELECT is_empty($$SELECT id FROM lp.reports$$, 'attacker: not through livepanty_service either');
SELECT tests.clear_authentication();

SELECT tests.remember('c_harass', tests.report('vic', 'user', tests.user_id('wes'), 'harassment'));
SELECT is((tests.case_row(tests.id('c_harass'))).reporter_id, tests.user_id('vic'),
          'a case a report opened names its first reporter');
SELECT tests.claim(tests.id('c_harass'), 'mona');
SELECT tests.authenticate_as('mona');
SELECT is((api.resolve_case(tests.id('c_harass'), 'sanction', 'Threats to vic in private messages.', 'Rule 3',
                            'mute')).status::text, 'resolved', 'setup: mona mutes wes on the case vic opened');
SELECT tests.authenticate_as('vic');
SELECT is_empty($$SELECT id, status, action, resolution, decision::text, sanction_id FROM lp.reports$$,
                'the first reporter reads no case either: not the decision about wes (the affected user''s only)');

-- == a later acted flag keeps the automated decision in force ===============================================
SELECT tests.clear_authentication();
SELECT tests.remember('f1', (api.raise_flag('vision-v1', 'minor_detected', 0.95, 'stream_video', 'seg-4', tests.id('s_pia'))).id);
SELECT tests.remember('c_minor', (SELECT case_id FROM lp.moderation_flags WHERE id = tests.id('f1')));
SELECT tests.remember('pia_susp', (tests.case_row(tests.id('c_minor'))).sanction_id);
SELECT is((api.raise_flag('vision-v2', 'minor_detected', 0.97, 'stream_video', 'seg-5', tests.id('s_pia'))).case_id,
          tests.id('c_minor'), 'setup: a second acted flag on the stream merges into the case');
SELECT is((SELECT row(decision ->> 'action', decision ->> 'sanction_type', decision ->> 'automated', sanction_id = tests.id('pia_susp'))::text
             FROM lp.reports WHERE id = tests.id('c_minor')),
          '(sanction,suspension,true,t)',
          'the second flag (nothing new done) leaves the decision saying what is in force: the automated suspension');
SELECT ok((tests.case_row(tests.id('c_minor'))).decision ->> 'facts' LIKE 'Detector vision-v1 %',
          'the decision is kept as the first flag made it');
SELECT tests.authenticate_as('pia');
SELECT is((SELECT row(action, automated, sanction_id = tests.id('pia_susp'))::text FROM api.my_case_decisions()
            WHERE case_id = tests.id('c_minor')),
          '(sanction,t,t)', 'pia reads that she is suspended by an automated decision (not "none")');

-- == the moderator who resolved a sanction's case does not decide its appeal ================================
SELECT tests.clear_authentication();
SELECT tests.claim(tests.id('c_minor'), 'mona');
SELECT tests.authenticate_as('mona');
SELECT is((api.resolve_case(tests.id('c_minor'), 'remove_content', 'Looked underage on seg-4.', 'Rule 1: 18+ only')).sanction_id,
          tests.id('pia_susp'), 'setup: mona resolves the case and keeps the automated suspension');
SELECT tests.authenticate_as('pia', 'livepanty_service');
SELECT tests.remember('ap', (api.appeal_sanction(tests.id('pia_susp'), 'I am 25; here is my ID.')).id);
SELECT tests.authenticate_as('mona');
SELECT is((SELECT may_decide FROM api.list_appeals() WHERE appeal_id = tests.id('ap')), false,
          'mona''s queue says she may not decide the appeal of the suspension she upheld');
SELECT * FROM tests.rejects(format($$SELECT api.decide_appeal(%L, false, 'I reviewed it already.')$$, tests.id('ap')), 'LP002',
                            'deny: the moderator who resolved the case may not decide the appeal of its automated sanction (LP002)');
SELECT tests.authenticate_as('max');
SELECT is((SELECT may_decide FROM api.list_appeals() WHERE appeal_id = tests.id('ap')), true, 'another moderator may decide it');
SELECT lives_ok(format($$SELECT api.decide_appeal(%L, true, 'The ID shows she is 25.')$$, tests.id('ap')),
                'allow: max grants it');

-- == a dismissal lifts every automated sanction of the reported user naming the case, audited ================
SELECT tests.clear_authentication();
SELECT tests.claim(tests.id('c_fraud'), 'mona');
SELECT tests.authenticate_as('mona');
SELECT is((api.resolve_case(tests.id('c_fraud'), 'dismiss', 'The card owner confirmed the purchase.', 'No rule broken')).status::text,
          'dismissed', 'setup: mona dismisses cara''s fraud case');
SELECT tests.clear_authentication();
SELECT is((SELECT revoked_at IS NOT NULL FROM lp.user_sanctions WHERE id = tests.id('cara_tb')), true,
          'the dismissal lifts the chargeback''s tip_block (it names the case; the case does not name it)');
SELECT is((tests.case_row(tests.id('c_fraud'))).decision ->> 'automated_sanction_lifted', 'true',
          'the decision says an automated sanction was lifted');
SELECT ok((tests.case_row(tests.id('c_fraud'))).decision ->> 'appeal' LIKE '%was lifted%',
          'and tells cara so');
SELECT is(tests.revokes(tests.id('cara_tb')),
          concat_ws('|', tests.user_id('cara'), tests.user_id('mona'), tests.id('c_fraud'), 'case dismissed'),
          'the lift is audited once (sanction.revoke: target cara, actor mona, the case, the reason)');
-- a flag's automated suspension (the case names it)
SELECT tests.remember('f_paula', (api.raise_flag('vision-v1', 'minor_detected', 0.95, 'stream_video', 'seg-9', tests.id('s_paula'))).id);
SELECT tests.remember('c_paula', (SELECT case_id FROM lp.moderation_flags WHERE id = tests.id('f_paula')));
SELECT tests.remember('paula_susp', (tests.case_row(tests.id('c_paula'))).sanction_id);
SELECT tests.claim(tests.id('c_paula'), 'max');
SELECT tests.authenticate_as('max');
SELECT is((api.resolve_case(tests.id('c_paula'), 'dismiss', 'Adult performer, ID checked.', 'No rule broken')).status::text,
          'dismissed', 'setup: max dismisses the flag''s case');
SELECT tests.clear_authentication();
SELECT is(tests.revokes(tests.id('paula_susp')),
          concat_ws('|', tests.user_id('paula'), tests.user_id('max'), tests.id('c_paula'), 'case dismissed'),
          'lifting the flag''s suspension is audited (sanction.revoke), as a granted appeal''s lift is');

-- == nobody works a case against themselves or one they filed on ============================================
SELECT tests.remember('c_spam', tests.report('vic', 'user', tests.user_id('wes'), 'spam'));
SELECT tests.claim(tests.id('c_spam'), 'mona');
SELECT is(tests.report('mona', 'user', tests.user_id('wes'), 'spam'), tests.id('c_spam'),
          'setup: mona files a report into the case she holds');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'sanction', 'Spam.', 'Rule 5', 'mute')$$, tests.id('c_spam')),
                            'LP002', 'deny: mona may not resolve a case she reported (LP002)');
SELECT * FROM tests.rejects(format($$SELECT api.extend_case_claim(%L)$$, tests.id('c_spam')),
                            'LP002', 'deny: nor keep it by extending her claim (LP002)');
SELECT tests.clear_authentication();
SELECT tests.remember('c_mona', tests.report('vic', 'user', tests.user_id('mona'), 'harassment'));
SELECT tests.claim(tests.id('c_mona'), 'mona');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'dismiss', 'Nothing happened.', 'No rule broken')$$, tests.id('c_mona')),
                            'LP002', 'deny: nobody resolves a case against themselves, however they hold it (LP002)');

-- == a moderator reads nothing of a case against herself: not who reported her, not the case ================
-- (RLS on lp.reports and lp.report_filings, api.review_queue, api.user_summary's open_cases). eve reports mona
-- too; ava, an admin, reads everything of it (a case about staff: admins only, test_staff_case_privacy.sql).
SELECT is(tests.report('eve', 'user', tests.user_id('mona'), 'harassment'), tests.id('c_mona'),
          'setup: eve''s report of mona merges into the case vic opened');
SELECT tests.authenticate_as('mona');
SELECT is_empty(format('SELECT reporter_id, description FROM lp.report_filings WHERE case_id = %L', tests.id('c_mona')),
                'attacker: mona, a moderator, reads no filing of the case against her (not who reported her)');
SELECT is_empty(format('SELECT reporter_id, reporter_count FROM lp.reports WHERE id = %L', tests.id('c_mona')),
                'nor the case against her (its first reporter, its count)');
SELECT is_empty(format('SELECT case_id FROM api.review_queue(p_status => NULL) WHERE case_id = %L', tests.id('c_mona')),
                'nor does her review queue list it');
SELECT is((SELECT open_cases FROM api.user_summary WHERE username = 'mona'), 0,
          'nor does her own api.user_summary count it (as for any reported user)');
SELECT tests.authenticate_as('mona', 'livepanty_service');
SELECT is_empty(format('SELECT reporter_id FROM lp.report_filings WHERE case_id = %L', tests.id('c_mona')),
                'attacker: not through livepanty_service either');
SELECT tests.authenticate_as('mona');
SELECT is((SELECT count(*)::integer FROM lp.report_filings WHERE case_id = tests.id('c_spam')), 2,
          'control: mona reads the filings of the other cases');
SELECT tests.authenticate_as('ava');
SELECT is((SELECT string_agg(u, ',' ORDER BY u) FROM (SELECT f.reporter_id::text AS u FROM lp.report_filings AS f
                                                     WHERE f.case_id = tests.id('c_mona')) AS x),
          (SELECT string_agg(u, ',' ORDER BY u) FROM (VALUES (tests.user_id('vic')::text), (tests.user_id('eve')::text)) AS v (u)),
          'control: ava, an admin, reads both filings of the case against mona');
SELECT is((SELECT count(*)::integer FROM api.review_queue(p_status => NULL) WHERE case_id = tests.id('c_mona')), 1,
          'control: and finds the case in her queue');

-- == a moderator who reported a sanction's case does not decide its appeal =================================
-- mona filed a report into c_spam (vic's report of wes); max resolves it with a tip_block; wes appeals.
SELECT tests.clear_authentication();
SELECT tests.claim(tests.id('c_spam'), 'max');
SELECT tests.authenticate_as('max');
SELECT tests.remember('wes_tb', (api.resolve_case(tests.id('c_spam'), 'sanction', 'Spam in every chat.', 'Rule 5',
                                                  'tip_block')).sanction_id);
SELECT tests.authenticate_as('wes');
SELECT tests.remember('wes_ap', (api.appeal_sanction(tests.id('wes_tb'), 'I was advertising my own show once.')).id);
SELECT tests.authenticate_as('mona');
SELECT is((SELECT may_decide FROM api.list_appeals() WHERE appeal_id = tests.id('wes_ap')), false,
          'mona''s queue says she may not decide the appeal of a sanction on a case she reported');
SELECT * FROM tests.rejects(format($$SELECT api.decide_appeal(%L, false, 'I saw the spam myself.')$$, tests.id('wes_ap')), 'LP002',
                            'deny: a moderator who filed a report on the sanction''s case may not decide its appeal (LP002)');
SELECT * FROM tests.rejects(format($$SELECT api.decide_appeal(%L, true, 'Fine.')$$, tests.id('wes_ap')), 'LP002',
                            'deny: not even to grant it (LP002)');
SELECT tests.authenticate_as('mia');
SELECT is((SELECT may_decide FROM api.list_appeals() WHERE appeal_id = tests.id('wes_ap')), true,
          'control: mia, who neither reported, issued nor resolved, may decide it');
SELECT is((api.decide_appeal(tests.id('wes_ap'), false, 'Repeated spam, seen in the chat logs.')).status::text, 'denied',
          'control: mia decides it');

-- == ... nor, having decided the appeal of a case's automated sanction, resolve that case ====================
-- A flag suspends pam pending review; she appeals at once and max denies it while the case waits. Resolving the
-- case would make max decide both the case and the appeal of its sanction (in the other order than above).
SELECT tests.clear_authentication();
SELECT tests.remember('f_pam', (api.raise_flag('vision-v1', 'minor_detected', 0.95, 'stream_video', 'seg-12', tests.id('s_pam'))).id);
SELECT tests.remember('c_pam', (SELECT case_id FROM lp.moderation_flags WHERE id = tests.id('f_pam')));
SELECT tests.remember('pam_susp', (tests.case_row(tests.id('c_pam'))).sanction_id);
SELECT tests.authenticate_as('pam', 'livepanty_service');
SELECT tests.remember('pam_ap', (api.appeal_sanction(tests.id('pam_susp'), 'I am 30.')).id);
SELECT tests.authenticate_as('max');
SELECT is((api.decide_appeal(tests.id('pam_ap'), false, 'The segment shows a minor.')).status::text, 'denied',
          'setup: max denies pam''s appeal while her case waits');
SELECT ok(NOT tests.id('c_pam') = ANY (tests.claim_all()), 'deny: max claiming every case he can never gets pam''s');
SELECT tests.clear_authentication();
SELECT tests.claim(tests.id('c_pam'), 'max');
SELECT tests.authenticate_as('max');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'remove_content', 'Minor on seg-12.', 'Rule 1')$$, tests.id('c_pam')),
                            'LP002', 'deny: the moderator who decided the appeal of the case''s sanction may not resolve the case (LP002)');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'dismiss', 'Adult after all.', 'No rule broken')$$, tests.id('c_pam')),
                            'LP002', 'deny: not even to dismiss it (LP002)');
SELECT tests.clear_authentication();
SELECT tests.claim(tests.id('c_pam'), 'mia');
SELECT tests.authenticate_as('mia');
SELECT is((api.resolve_case(tests.id('c_pam'), 'remove_content', 'Minor on seg-12.', 'Rule 1')).status::text, 'resolved',
          'control: mia, who did not decide the appeal, resolves the case');

-- == a warning or sanction of a deleted account is LP004 ====================================================
SELECT tests.clear_authentication();
SELECT tests.remember('c_dan', tests.report('vic', 'user', tests.user_id('dan'), 'harassment'));
SELECT tests.login_as('dan');  -- a user's own deletion wants a recent login
SELECT (api.delete_user()).deleted_at IS NOT NULL AS deleted;
SELECT tests.clear_authentication();
SELECT tests.claim(tests.id('c_dan'), 'max');
SELECT tests.authenticate_as('max');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'warn', 'Insults.', 'Rule 2')$$, tests.id('c_dan')),
                            'LP004', 'deny: warning a user who deleted their account is LP004 (the case''s state), not LP003');
SELECT is((api.resolve_case(tests.id('c_dan'), 'dismiss', 'The account is gone.', 'No action possible')).status::text,
          'dismissed', 'allow: the case is dismissed instead');

SELECT * FROM finish();
ROLLBACK;
