-- What the audit trail tells a reported user about the handling of the cases against them. Only admins read the
-- trail (RLS on lp.audit_logs); a reported admin reads none of the rows of a case against themselves (target
-- the case: report.file, case.open, case.claim, case.extend_claim, case.release, case.escalate, case.resolve),
-- not even once it is resolved (they read its decision through api.my_case_decisions, never who handled it)
-- nor once it is purged. Other admins read them; a reported moderator or plain user reads no audit row at all.
BEGIN;
SELECT plan(18);

CREATE FUNCTION tests.only_case(p_id uuid) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    -- the case is the one a claim gets first: the others wait
    UPDATE lp.reports SET priority = CASE WHEN id = p_id THEN 'critical' ELSE 'low' END
     WHERE status IN ('open', 'escalated')
$$;
CREATE FUNCTION tests.rows_of(p_ids uuid[]) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    -- the audit rows the acting user reads whose target is one of the cases, or which name them
    SELECT coalesce(string_agg(a.action, ',' ORDER BY a.id), '')
      FROM lp.audit_logs AS a
     WHERE a.target_id = ANY (p_ids::text[]) OR a.details ->> 'case_id' = ANY (p_ids::text[])
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('wes');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('bob', 'admin');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.authenticate_as('vic');
    PERFORM tests.remember('c_ada', (api.report('user', tests.user_id('ada'), 'harassment', 'seen it')).case_id);
    PERFORM tests.clear_authentication();
    -- a system case against ada too (audited case.open, no actor)
    PERFORM tests.remember('c_ada_sys', lp.open_case('system', 'fraud', tests.user_id('ada'), NULL, '{}', NULL));
END
$$;

-- bob claims the case against ada, extends and releases his claim; it escalates; adam claims and dismisses it
SELECT tests.only_case(tests.id('c_ada'));
SELECT tests.authenticate_as('bob');
SELECT is((SELECT id FROM api.claim_case()), tests.id('c_ada'), 'setup: bob claims the case against ada');
SELECT is((api.extend_case_claim(tests.id('c_ada'))).id, tests.id('c_ada'), 'setup: he extends his claim');
SELECT is((api.release_case(tests.id('c_ada'))).status::text, 'open', 'setup: and gives the case back');
SELECT tests.clear_authentication();
UPDATE lp.reports SET due_at = now() - interval '1 hour' WHERE id = tests.id('c_ada');
SELECT tests.authenticate_as(NULL, 'livepanty_service');
SELECT ok(api.escalate_cases() >= 1, 'setup: the case escalates (overdue)');
SELECT tests.only_case(tests.id('c_ada'));
SELECT tests.authenticate_as('adam');
SELECT is((SELECT id FROM api.claim_case()), tests.id('c_ada'), 'setup: adam claims it');
SELECT is((api.resolve_case(tests.id('c_ada'), 'dismiss', 'Nothing found.', 'No rule broken')).status::text,
          'dismissed', 'setup: and dismisses it');

-- the reporting and a case about someone else, handled by bob, for the controls
SELECT tests.authenticate_as('vic');
SELECT tests.remember('c_wes', (api.report('user', tests.user_id('wes'), 'spam', 'seen it')).case_id);
SELECT tests.remember('c_mona', (api.report('user', tests.user_id('mona'), 'spam', 'seen it')).case_id);
SELECT tests.only_case(tests.id('c_mona'));
SELECT tests.authenticate_as('bob');
SELECT is((SELECT id FROM api.claim_case()), tests.id('c_mona'), 'setup: bob claims the case against mona');

-- == the reported admin ======================================================================================
SELECT tests.authenticate_as('ada');
SELECT is(tests.rows_of(ARRAY[tests.id('c_ada'), tests.id('c_ada_sys')]), '',
          'attacker: ada reads no audit row of the cases against her (who reported, claimed, extended, released, resolved; that they escalated or were opened)');
SELECT is_empty(format($$SELECT action, actor_id FROM lp.audit_logs WHERE actor_id IN (%L, %L) AND target_type = 'report'$$,
                       tests.user_id('bob'), tests.user_id('adam')) || format(' AND target_id IN (%L, %L)', tests.id('c_ada'), tests.id('c_ada_sys')),
                'nor, by actor, who handled them');
SELECT is_empty(format($$SELECT action FROM lp.audit_logs WHERE action LIKE 'case.%%' AND details ->> 'reported_user_id' = %L$$,
                       tests.user_id('ada')),
                'nor a case.* row naming her as the reported user');
SELECT is((SELECT count(*)::integer FROM api.my_case_decisions() WHERE case_id = tests.id('c_ada')), 1,
          'control: she reads the decision of the resolved case (api.my_case_decisions), as documented');
SELECT is(tests.rows_of(ARRAY[tests.id('c_mona')]), 'report.file,case.claim',
          'control: she reads the rows of the case against mona (its filing, bob''s claim)');
SELECT tests.authenticate_as('ada', 'livepanty_service');
SELECT is(tests.rows_of(ARRAY[tests.id('c_ada'), tests.id('c_ada_sys')]), '', 'attacker: not through livepanty_service either');

-- == other admins read them ===================================================================================
SELECT tests.authenticate_as('bob');
SELECT is(tests.rows_of(ARRAY[tests.id('c_ada')]),
          'report.file,case.claim,case.extend_claim,case.release,case.escalate,case.claim,case.resolve',
          'allow: bob, another admin, reads every row of the case against ada');

-- == reported moderators and users read no audit row ==========================================================
SELECT tests.authenticate_as('mona');
SELECT is_empty('SELECT id FROM lp.audit_logs', 'a reported moderator reads no audit row (admins only)');
SELECT tests.authenticate_as('wes');
SELECT is_empty('SELECT id FROM lp.audit_logs', 'a reported user reads no audit row');

-- == once the case is purged (api.purge_personal_data deletes a dismissed case) ===============================
SELECT tests.clear_authentication();
DELETE FROM lp.reports WHERE id = tests.id('c_ada');
SELECT tests.authenticate_as('ada');
SELECT is(tests.rows_of(ARRAY[tests.id('c_ada')]), '',
          'attacker: nor once the case is purged (claim, extend, release and escalate rows name no user: the case''s other rows name her)');
SELECT tests.authenticate_as('bob');
SELECT is(tests.rows_of(ARRAY[tests.id('c_ada')]),
          'report.file,case.claim,case.extend_claim,case.release,case.escalate,case.claim,case.resolve',
          'control: bob still reads them');

SELECT * FROM finish();
ROLLBACK;
