-- What the audit trail's appeal.* rows and the appeals queue tell a sanctioned admin about their own appeals. The
-- appeal.* rows target the sanction: appeal.file (actor the appellant), appeal.decide (actor whoever decided the
-- appeal), appeal.moot (actor whoever lifted the sanction, closing the appeal); api.list_appeals names who issued
-- the sanction and who decided the appeal (issued_by, decided_by). Like the sanction.* rows of their sanctions
-- (test_flag_sanction_audit_privacy.sql), the appeal.* rows of their sanctions are hidden from the admin whose
-- sanction it is (RLS on lp.audit_logs, lp.sanctioned_reader), and their own appeals are not in their queue; they
-- read the decision and its reasons through api.my_sanctions (the decider by label). Other admins read every row
-- and list every appeal. Last, the stream.end row of a stream a flag ended (category, flag id) stays readable by
-- the host it concerns: it tells nothing api.my_case_decisions does not (the automated decision of the flag's
-- case: that a detector acted, the category, the case), and no staff member acted.
BEGIN;
SELECT plan(15);

CREATE FUNCTION tests.appeal_rows(p_user text) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    -- the appeal.* rows the acting user reads of the user's sanctions (by target, and by the appellant named)
    SELECT coalesce(string_agg(a.action, ',' ORDER BY a.id), '')
      FROM lp.audit_logs AS a
     WHERE a.action LIKE 'appeal.%'
       AND (a.target_id IN (SELECT s.id::text FROM lp.user_sanctions AS s WHERE s.user_id = tests.user_id(p_user))
            OR a.details ->> 'user_id' = tests.user_id(p_user)::text)
$$;
CREATE FUNCTION tests.sanctions_of(p_user text) RETURNS uuid[]
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT array_agg(s.id ORDER BY s.id) FROM lp.user_sanctions AS s WHERE s.user_id = tests.user_id(p_user)
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('bob', 'admin');
    PERFORM tests.create_user('cal', 'admin');
    PERFORM tests.create_user('pia', 'performer');
END
$$;

-- bob warns ada; ada appeals (appeal.file); cal grants it (appeal.decide, cal as actor)
SELECT tests.authenticate_as('bob');
SELECT tests.remember('w_ada', (api.sanction_user(tests.user_id('ada'), 'warning', 'rude in chat')).id);
SELECT tests.authenticate_as('ada');
SELECT tests.remember('ap_w', (api.appeal_sanction(tests.id('w_ada'), 'I was quoting someone.')).id);
SELECT tests.authenticate_as('cal');
SELECT is((api.decide_appeal(tests.id('ap_w'), true, 'The quote was clear from context.')).status::text, 'granted',
          'setup: cal grants ada''s appeal of bob''s warning');
-- bob mutes ada; ada appeals; bob lifts the mute (appeal.moot, bob as actor)
SELECT tests.authenticate_as('bob');
SELECT tests.remember('m_ada', (api.sanction_user(tests.user_id('ada'), 'mute', 'spam in chat', now() + interval '1 day')).id);
SELECT tests.authenticate_as('ada');
SELECT tests.remember('ap_m', (api.appeal_sanction(tests.id('m_ada'), 'It was not spam.')).id);
SELECT tests.authenticate_as('bob');
SELECT is((api.revoke_sanction(tests.id('m_ada'), 'issued in error')).id, tests.id('m_ada'),
          'setup: bob lifts the mute, closing ada''s appeal as moot');
-- the control: bob warns vic, vic appeals, cal denies
SELECT tests.remember('w_vic', (api.sanction_user(tests.user_id('vic'), 'warning', 'spam')).id);
SELECT tests.authenticate_as('vic');
SELECT tests.remember('ap_vic', (api.appeal_sanction(tests.id('w_vic'), 'Not spam.')).id);
SELECT tests.authenticate_as('cal');
SELECT is((api.decide_appeal(tests.id('ap_vic'), false, 'It was spam.')).status::text, 'denied',
          'setup: cal denies vic''s appeal');

-- == the admin whose sanctions they are =======================================================================
SELECT tests.authenticate_as('ada');
SELECT is(tests.appeal_rows('ada'), '',
          'attacker: ada reads no appeal.* row of her sanctions (appeal.decide: who decided her appeal; appeal.moot: who lifted the sanction)');
SELECT is_empty(format($$SELECT action FROM lp.audit_logs WHERE target_id = ANY (%L::text[])$$, tests.sanctions_of('ada')),
                'nor any row whose target is one of her sanctions');
SELECT is((SELECT count(*)::integer FROM api.list_appeals(NULL) AS a WHERE a.user_id = tests.user_id('ada')), 0,
          'attacker: her appeals queue lists none of her appeals (issued_by, decided_by: who sanctioned her and who decided)');
SELECT is((SELECT string_agg(sanction_type || ':' || appeal_status || ':' || decision_reasons || ':' || (decided_by_label IS NOT NULL),
                             ',' ORDER BY sanction_type)
             FROM api.my_sanctions(true)),
          'mute:moot:The sanction was lifted: issued in error:true,warning:granted:The quote was clear from context.:true',
          'control: she reads her appeals'' decisions and reasons through api.my_sanctions (the decider by label), as documented');
SELECT is(tests.appeal_rows('vic'), 'appeal.file,appeal.decide', 'control: she reads the appeal.* rows of vic''s appeal');
SELECT is((SELECT a.decided_by FROM api.list_appeals(NULL) AS a WHERE a.appeal_id = tests.id('ap_vic')), tests.user_id('cal'),
          'control: and finds vic''s appeal, who decided it included, in her queue');
SELECT tests.authenticate_as('ada', 'livepanty_service');
SELECT is(tests.appeal_rows('ada'), '', 'attacker: not through livepanty_service either');

-- == other admins read them ===================================================================================
SELECT tests.authenticate_as('bob');
SELECT is(tests.appeal_rows('ada'), 'appeal.file,appeal.decide,appeal.file,appeal.moot',
          'allow: bob, another admin, reads every appeal.* row of ada''s sanctions');
SELECT is((SELECT string_agg(a.status || ':' || coalesce(a.decided_by = tests.user_id('cal'), false), ',' ORDER BY a.status)
             FROM api.list_appeals(NULL) AS a WHERE a.user_id = tests.user_id('ada')),
          'granted:true,moot:false', 'allow: and lists ada''s appeals, with who decided them');
SELECT tests.authenticate_as('cal');
SELECT is(tests.appeal_rows('ada'), 'appeal.file,appeal.decide,appeal.file,appeal.moot', 'allow: cal reads them too');

-- == the stream.end row of a stream a flag ended: readable by its host, documented ===========================
SELECT tests.clear_authentication();
DO $$
DECLARE
    v_stream uuid;
BEGIN
    PERFORM tests.authenticate_as('pia');
    v_stream := (api.schedule_stream('pia live')).id;
    PERFORM api.consent_to_stream(v_stream, '203.0.113.1');
    PERFORM api.start_stream(v_stream);
    PERFORM tests.clear_authentication();
    PERFORM tests.remember('s_pia', v_stream);
    -- violence above its act threshold: the stream ends (by gate), nobody is suspended, the case waits
    PERFORM tests.remember('f_pia', (api.raise_flag('vision-v1', 'violence', 0.99, 'stream_video', 'seg-1', v_stream)).id);
    PERFORM tests.remember('c_pia', (SELECT f.case_id FROM lp.moderation_flags AS f WHERE f.id = tests.id('f_pia')));
    -- pia becomes an admin since
    UPDATE lp.users SET role = 'admin' WHERE id = tests.user_id('pia');
END
$$;
SELECT tests.authenticate_as('pia');
SELECT is((SELECT (details ->> 'flag_id') || '|' || (details -> 'gaps' -> 0 ->> 'lacks') || '|' || (actor_id IS NULL)
             FROM lp.audit_logs WHERE action = 'stream.end' AND target_id = tests.id('s_pia')::text),
          tests.id('f_pia') || '|automated moderation: violence|true',
          'documented: pia reads the stream.end row of her stream the flag ended (the category, the flag id, no staff actor)');
SELECT is((SELECT d.action || '|' || d.automated || '|' || (d.facts LIKE '%violence%')
             FROM api.my_case_decisions() AS d
            WHERE d.case_id = tests.id('c_pia')),
          'end_stream|true|true',
          'documented: as api.my_case_decisions tells her the flag''s case, that a detector acted and the category');

SELECT * FROM finish();
ROLLBACK;
