-- What the audit trail's flag.raise and sanction.* rows tell a reported admin about the cases against them. A
-- flag.raise row (target the flag, no actor) names the case the flag opened or joined (details.case_id); a
-- sanction.* row (target the sanctioned user) names the case (report_id, case_id) and, as its actor, whoever
-- issued or lifted the sanction. Like the case's own rows (test_case_audit_privacy.sql), they are hidden from the
-- admin they concern (RLS on lp.audit_logs: lp.flagged_reader for a flag about them, the target for a sanction of
-- theirs), open, resolved or purged; they learn their sanctions through api.my_sanctions (the issuer by label) and
-- the decision through api.my_case_decisions. Other admins read every row.
BEGIN;
SELECT plan(16);

CREATE FUNCTION tests.only_case(p_id uuid) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    -- the case is the one a claim gets first: the others wait
    UPDATE lp.reports SET priority = CASE WHEN id = p_id THEN 'critical' ELSE 'low' END
     WHERE status IN ('open', 'escalated')
$$;
CREATE FUNCTION tests.review_suspension(p_user text, p_by text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v_id uuid;
BEGIN
    -- a suspension back in review when it ends, ended already (api.expire_sanctions files its review case)
    v_id := (lp.issue_sanction(tests.user_id(p_user), 'suspension', 'test suspension', now() + interval '1 day',
                               NULL, tests.user_id(p_by), true)).id;
    UPDATE lp.user_sanctions SET starts_at = now() - interval '2 hours', ends_at = now() - interval '1 hour'
     WHERE id = v_id;
    RETURN v_id;
END
$$;
CREATE FUNCTION tests.flag_rows(p_flags uuid[]) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    -- the flag.raise rows the acting user reads of the flags
    SELECT coalesce(string_agg(a.details ->> 'disposition', ',' ORDER BY a.id), '')
      FROM lp.audit_logs AS a
     WHERE a.action = 'flag.raise' AND a.target_id = ANY (p_flags::text[])
$$;
CREATE FUNCTION tests.sanction_rows(p_user text) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    -- the sanction.* rows the acting user reads about the user
    SELECT coalesce(string_agg(a.action, ',' ORDER BY a.id), '')
      FROM lp.audit_logs AS a
     WHERE a.action LIKE 'sanction.%' AND a.target_type = 'user' AND a.target_id = tests.user_id(p_user)::text
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('wes');
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('bob', 'admin');
    PERFORM tests.clear_authentication();
    -- a detector flags ada's profile: suspended at once (automated sanction.issue naming the case), the case queued
    PERFORM tests.remember('f_ada', (api.raise_flag('vision-v1', 'minor_detected', 0.95, 'profile', 'p-ada', NULL,
                                                    tests.user_id('ada'))).id);
    PERFORM tests.remember('c_ada', (SELECT f.case_id FROM lp.moderation_flags AS f WHERE f.id = tests.id('f_ada')));
    -- and another flag, below its review threshold (ignored: no case)
    PERFORM tests.remember('f_ada_low', (api.raise_flag('vision-v1', 'spam', 0.1, 'profile', 'p-ada', NULL,
                                                        tests.user_id('ada'))).id);
    -- the control: a flag about wes
    PERFORM tests.remember('f_wes', (api.raise_flag('vision-v1', 'minor_detected', 0.95, 'profile', 'p-wes', NULL,
                                                    tests.user_id('wes'))).id);
END
$$;
SELECT isnt(tests.id('c_ada'), NULL, 'setup: the flag about ada opened a case against her');

-- bob warns ada and lifts the warning (sanction.issue, sanction.revoke: his id as actor)
SELECT tests.authenticate_as('bob');
SELECT tests.remember('w_ada', (api.sanction_user(tests.user_id('ada'), 'warning', 'rude in chat')).id);
SELECT is((api.revoke_sanction(tests.id('w_ada'), 'issued in error')).id, tests.id('w_ada'), 'setup: bob warns ada, then lifts it');
-- bob claims the flag's case and dismisses it: the automated suspension is lifted (sanction.revoke naming the case)
SELECT tests.only_case(tests.id('c_ada'));
SELECT is((SELECT id FROM api.claim_case()), tests.id('c_ada'), 'setup: bob claims the case the flag opened');
SELECT is((api.resolve_case(tests.id('c_ada'), 'dismiss', 'A false detection.', 'No rule broken')).status::text,
          'dismissed', 'setup: and dismisses it');
-- a suspension of ada's ends back in review (sanction.expire_review naming the new, open case)
SELECT tests.clear_authentication();
SELECT tests.remember('s_review', tests.review_suspension('ada', 'bob'));
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT is(api.expire_sanctions(), 1, 'setup: the ended suspension of ada files a review case');
-- the control: bob warns wes
SELECT tests.authenticate_as('bob');
SELECT ok((api.sanction_user(tests.user_id('wes'), 'warning', 'spam')).id IS NOT NULL, 'setup: bob warns wes');

-- == the admin the rows concern ===============================================================================
SELECT tests.authenticate_as('ada');
SELECT is(tests.flag_rows(ARRAY[tests.id('f_ada'), tests.id('f_ada_low')]), '',
          'attacker: ada reads no flag.raise row of the flags about her (that a case against her exists: details.case_id)');
SELECT is_empty(format($$SELECT action FROM lp.audit_logs WHERE action = 'flag.raise' AND details ->> 'case_id' = %L$$,
                       tests.id('c_ada')),
                'nor by the case it names');
SELECT is(tests.sanction_rows('ada'), '',
          'attacker: ada reads no sanction.* row of her sanctions (issue, revoke, expire_review: who issued and lifted them, the cases)');
SELECT is_empty(format($$SELECT action FROM lp.audit_logs WHERE actor_id = %L AND target_id = %L$$,
                       tests.user_id('bob'), tests.user_id('ada')),
                'nor, by actor, what bob did to her');
SELECT is((SELECT string_agg(sanction_type || ':' || (issued_by_label IS NOT NULL OR automated), ',' ORDER BY sanction_type)
             FROM api.my_sanctions(true)),
          'suspension:true,suspension:true,warning:true',
          'control: she reads her sanctions through api.my_sanctions (the issuer by label), as documented');
SELECT is(tests.flag_rows(ARRAY[tests.id('f_wes')]) || '|' || tests.sanction_rows('wes'), 'acted|sanction.issue,sanction.issue',
          'control: she reads the flag.raise and sanction.* rows about wes');
SELECT tests.authenticate_as('ada', 'livepanty_service');
SELECT is(tests.flag_rows(ARRAY[tests.id('f_ada'), tests.id('f_ada_low')]) || '|' || tests.sanction_rows('ada'), '|',
          'attacker: not through livepanty_service either');

-- == other admins read them ===================================================================================
SELECT tests.authenticate_as('bob');
SELECT is(tests.flag_rows(ARRAY[tests.id('f_ada'), tests.id('f_ada_low')]) || '|' || tests.sanction_rows('ada'),
          'acted,ignored|sanction.issue,sanction.issue,sanction.revoke,sanction.revoke,sanction.issue,sanction.expire_review',
          'allow: bob, another admin, reads every flag.raise and sanction.* row about ada');

-- == once the case is purged (api.purge_personal_data deletes a dismissed case) ===============================
SELECT tests.clear_authentication();
DELETE FROM lp.reports WHERE id = tests.id('c_ada');
SELECT tests.authenticate_as('ada');
SELECT is(tests.flag_rows(ARRAY[tests.id('f_ada')]) || '|' || tests.sanction_rows('ada'), '|',
          'attacker: nor once the case is purged');
SELECT tests.authenticate_as('bob');
SELECT is(tests.flag_rows(ARRAY[tests.id('f_ada')]), 'acted', 'control: bob still reads the flag.raise row');

SELECT * FROM finish();
ROLLBACK;
