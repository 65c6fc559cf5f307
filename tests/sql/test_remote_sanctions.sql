-- Cases about users of other shards, the case's side (migration 0044; docs/scale-out.md, "Cases about users of
-- other shards"), in one database: a user marked as the stub of a user of another shard (lp.remote_users) is
-- warned or sanctioned by request (lp.sanction_requests), never directly; the argument checks of a sanction
-- still refuse bad input, changing nothing; a local user is sanctioned at once as before. The delivery to the
-- user's shard (shard.apply_sanction_request through the relay) is tested in tests/py/test_shards.py.
BEGIN;
SELECT plan(22);

SELECT tests.create_user('mona', 'moderator');
SELECT tests.create_user('sam');   -- the stub of a user of shard 1
SELECT tests.create_user('lou');   -- a user of this database
SELECT tests.create_user('rita');  -- who reports them
INSERT INTO lp.remote_users (user_id, home_shard) VALUES (tests.user_id('sam'), 1);

CREATE FUNCTION tests.open_case(p_user text, p_reason text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    v_id uuid;
BEGIN
    INSERT INTO lp.reports (reporter_id, reported_user_id, reason, description, status, assigned_to, claimed_at,
                            claim_expires_at)
    VALUES (tests.user_id('rita'), tests.user_id(p_user), p_reason::lp.case_reason, 'case of ' || p_user, 'in_review',
            tests.user_id('mona'), now(), now() + interval '30 minutes')
    RETURNING id INTO v_id;
    RETURN v_id;
END
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(' / ',
        (SELECT string_agg(r.id || ',' || r.status || ',' || coalesce(r.decision::text, ''), ';' ORDER BY r.id)
           FROM lp.reports AS r),
        (SELECT count(*) FROM lp.user_sanctions), (SELECT count(*) FROM lp.sanction_requests),
        (SELECT count(*) FROM lp.audit_logs))
$$;
CREATE FUNCTION tests.request_of(p_case uuid) RETURNS lp.sanction_requests
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT q.* FROM lp.sanction_requests AS q WHERE q.case_id = p_case
$$;
GRANT EXECUTE ON FUNCTION tests.state(), tests.request_of(uuid) TO PUBLIC;
SELECT tests.remember('stub_case', tests.open_case('sam', 'harassment'));
SELECT tests.remember('stub_warn', tests.open_case('sam', 'spam'));
SELECT tests.remember('local_case', tests.open_case('lou', 'harassment'));
CREATE TABLE tests.before AS SELECT tests.state() AS s;
GRANT SELECT ON tests.before TO PUBLIC;

-- == Bad input: refused, nothing written ==================================================================
SELECT tests.authenticate_as('mona');
SELECT throws_ok($$SELECT api.resolve_case(tests.id('stub_case'), 'sanction', 'abuse', 'rule 4', 'suspension')$$,
                 'LP018', 'a suspension needs an end time', 'a suspension of a stub without an end: LP018');
SELECT throws_ok($$SELECT api.resolve_case(tests.id('stub_case'), 'sanction', 'abuse', 'rule 4', 'mute',
                                            now() - interval '1 minute')$$,
                 'LP018', 'the end time must be in the future', 'an end in the past: LP018');
SELECT throws_ok($$SELECT api.resolve_case(tests.id('stub_case'), 'sanction', 'abuse', 'rule 4', 'exile')$$,
                 'LP018', NULL, 'an unknown sanction type: LP018');
SELECT is(tests.state(), (SELECT s FROM tests.before), 'the refusals changed nothing');
SELECT tests.clear_authentication();
SELECT throws_ok($$SELECT lp.request_remote_sanction(tests.user_id('lou'), 'mute', 'abuse', NULL,
                                                      tests.id('local_case'), tests.user_id('mona'))$$,
                 'LP003', 'user not found', 'a request for a user of this database (no stub): LP003');
SELECT throws_ok($$SELECT lp.request_remote_sanction(tests.user_id('sam'), 'mute', 'abuse', NULL,
                                                      tests.id('stub_case'), tests.user_id('sam'))$$,
                 'LP002', 'nobody may sanction themselves', 'a request by the stub itself: LP002');
SELECT throws_ok($$SELECT lp.issue_sanction(tests.user_id('sam'), 'mute', 'abuse', NULL, NULL, NULL)$$,
                 'LP203', 'this user lives on another shard', 'a sanction issued on the stub itself: LP203');
SELECT is(tests.state(), (SELECT s FROM tests.before), 'nothing changed');
SELECT tests.authenticate_as('mona');
SELECT throws_ok($$SELECT lp.request_remote_sanction(tests.user_id('sam'), 'mute', 'abuse', NULL,
                                                      tests.id('stub_case'), tests.user_id('mona'))$$,
                 '42501', NULL, 'the application role cannot ask for a sanction itself');

-- == The stub: a request, the case resolved, no sanction here ============================================
SELECT lives_ok($$SELECT api.resolve_case(tests.id('stub_case'), 'sanction', 'insulted a performer', 'rule 4',
                                           'suspension', now() + interval '2 days')$$,
                'a moderator resolves the stub''s case with a suspension');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT user_id, to_shard::integer, sanction_type::text, reason, issued_by, status
                      FROM tests.request_of(tests.id('stub_case'))$$,
                  $$VALUES (tests.user_id('sam'), 1, 'suspension', 'rule 4', tests.user_id('mona'), 'pending')$$,
                  'the request: the stub, its home shard, the type, the rule as reason, the moderator, pending');
SELECT ok((tests.request_of(tests.id('stub_case'))).ends_at > now() + interval '47 hours', 'with its end');
SELECT is((SELECT count(*) FROM lp.user_sanctions WHERE user_id = tests.user_id('sam')), 0::bigint,
          'no sanction on the stub');
SELECT results_eq($$SELECT status::text, sanction_id, decision ->> 'sanction_type',
                           (decision ->> 'sanction_request_id')::uuid
                      FROM lp.reports WHERE id = tests.id('stub_case')$$,
                  $$SELECT 'resolved', NULL::uuid, 'suspension', (tests.request_of(tests.id('stub_case'))).id$$,
                  'the case is resolved and its decision names the request');
SELECT matches((SELECT decision ->> 'appeal' FROM lp.reports WHERE id = tests.id('stub_case')), 'shortly',
               'the decision says the sanction comes shortly, then may be appealed');
SELECT is((SELECT details ->> 'request_id' FROM tests.last_audit('sanction.request')),
          (tests.request_of(tests.id('stub_case'))).id::text, 'audited sanction.request with the request');
SELECT is((SELECT actor_id FROM tests.last_audit('sanction.request')), tests.user_id('mona'),
          'by the moderator');
SELECT tests.authenticate_as('mona');
SELECT lives_ok($$SELECT api.resolve_case(tests.id('stub_warn'), 'warn', 'spam', 'rule 2')$$, 'a warning too');
SELECT tests.clear_authentication();
SELECT is((tests.request_of(tests.id('stub_warn'))).sanction_type::text, 'warning', 'asked as a warning');
SELECT throws_ok($$INSERT INTO lp.sanction_requests (user_id, to_shard, case_id, sanction_type, reason)
                   VALUES (tests.user_id('sam'), 1, tests.id('stub_case'), 'mute', 'twice')$$,
                 '23505', NULL, 'one request per case');

-- == A user of this database: sanctioned at once, no request =============================================
SELECT tests.authenticate_as('mona');
SELECT lives_ok($$SELECT api.resolve_case(tests.id('local_case'), 'sanction', 'abuse', 'rule 4', 'mute')$$,
                'the local user''s case resolved with a mute');
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT (SELECT count(*) FROM lp.user_sanctions WHERE user_id = tests.user_id('lou')),
                           (tests.request_of(tests.id('local_case'))).id IS NULL,
                           (SELECT sanction_id IS NOT NULL FROM lp.reports WHERE id = tests.id('local_case'))$$,
                  $$VALUES (1::bigint, true, true)$$, 'a sanction issued here, no request');

SELECT * FROM finish();
ROLLBACK;
