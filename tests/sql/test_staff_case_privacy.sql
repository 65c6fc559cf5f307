-- What staff read of the review cases, flags and reports about staff. A moderator or admin reads no flag about
-- themselves (RLS on lp.moderation_flags), as they read no case against themselves; cases about staff
-- (moderators, admins, compliance officers), with their filings and flags, are read, listed and claimed by
-- admins only (RLS on lp.reports, lp.report_filings and lp.moderation_flags, api.review_queue, api.claim_case);
-- and a reported admin does not find who reported them in the audit trail (RLS on lp.audit_logs: the
-- report.file rows of a case against the reader are hidden from them).
BEGIN;
SELECT plan(41);

-- Helpers of this file (SECURITY DEFINER: past RLS, whatever role acts):
--   tests.report(user, type, id, why)   the user reports; the case id
--   tests.flag(user, confidence)        the detector flags the user's profile as spam; the flag id
--   tests.claim_all()                   the acting moderator claims every case she can; their ids
--   tests.release_all()                 every claim ends (the cases are open again)
--   tests.claim(id, user)               a running claim of the user on the case
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
CREATE FUNCTION tests.flag(p_user text, p_confidence numeric) RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_flag uuid;
BEGIN
    PERFORM tests.authenticate_as(NULL, 'livepanty_service');
    v_flag := (api.raise_flag('spam-v1', 'spam', p_confidence, 'profile', 'bio', NULL, tests.user_id(p_user))).id;
    PERFORM tests.clear_authentication();
    RETURN v_flag;
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
CREATE FUNCTION tests.release_all() RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.reports SET status = 'open', assigned_to = NULL, claimed_at = NULL, claim_expires_at = NULL
     WHERE status = 'in_review'
$$;
CREATE FUNCTION tests.claim(p_id uuid, p_user text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.reports SET status = 'in_review', assigned_to = tests.user_id(p_user), claimed_at = now(),
                          claim_expires_at = now() + interval '30 minutes' WHERE id = p_id
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(' / ',
        (SELECT string_agg(concat_ws(',', r.id, r.status, r.assigned_to), ';' ORDER BY r.id) FROM lp.reports AS r),
        (SELECT count(*) FROM lp.audit_logs))
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('wes');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('max', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.create_user('ada', 'admin');
    PERFORM tests.create_user('cora', 'compliance_officer');
    PERFORM tests.remember('c_wes', tests.report('vic', 'user', tests.user_id('wes'), 'harassment'));
    PERFORM tests.remember('c_mona', tests.report('vic', 'user', tests.user_id('mona'), 'harassment'));
    PERFORM tests.remember('c_adam', tests.report('vic', 'user', tests.user_id('adam'), 'harassment'));
    PERFORM tests.remember('c_cora', tests.report('vic', 'user', tests.user_id('cora'), 'harassment'));
    PERFORM tests.remember('f_wes', tests.flag('wes', 0.9));
    PERFORM tests.remember('f_mona', tests.flag('mona', 0.9));      -- queued: a spam case against mona
    PERFORM tests.remember('f_mona_low', tests.flag('mona', 0.1));  -- below the review threshold: no case
    PERFORM tests.remember('f_adam', tests.flag('adam', 0.9));
    PERFORM tests.remember('f_adam_low', tests.flag('adam', 0.1));
END
$$;
SELECT ok((SELECT case_id FROM lp.moderation_flags WHERE id = tests.id('f_mona')) IS NOT NULL
          AND (SELECT case_id FROM lp.moderation_flags WHERE id = tests.id('f_mona_low')) IS NULL,
          'setup: the flag about mona is queued in a case, the weak one only recorded');

-- == nobody reads flags about themselves ====================================================================
SELECT tests.authenticate_as('mona');
SELECT is_empty(format('SELECT id, detector, confidence, case_id FROM lp.moderation_flags WHERE user_id = %L', tests.user_id('mona')),
                'attacker: mona, a moderator, reads no flag about herself (queued or ignored)');
SELECT is((SELECT count(*)::integer FROM lp.moderation_flags WHERE id = tests.id('f_wes')), 1,
          'control: she reads the flag about wes');
SELECT tests.authenticate_as('mona', 'livepanty_service');
SELECT is_empty(format('SELECT id FROM lp.moderation_flags WHERE user_id = %L', tests.user_id('mona')),
                'attacker: not through livepanty_service either');
SELECT tests.authenticate_as('adam');
SELECT is_empty(format('SELECT id, detector, confidence FROM lp.moderation_flags WHERE user_id = %L', tests.user_id('adam')),
                'attacker: adam, an admin, reads no flag about himself');
SELECT is((SELECT count(*)::integer FROM lp.moderation_flags WHERE user_id = tests.user_id('mona')), 2,
          'control: adam reads both flags about mona');
SELECT tests.authenticate_as('ada');
SELECT is((SELECT count(*)::integer FROM lp.moderation_flags WHERE user_id = tests.user_id('adam')), 2,
          'control: ada, another admin, reads both flags about adam');

-- == cases about staff: admins only =========================================================================
SELECT tests.authenticate_as('max');
SELECT is_empty(format('SELECT id, reporter_id, reporter_count, description FROM lp.reports WHERE reported_user_id IN (%L, %L, %L)',
                       tests.user_id('mona'), tests.user_id('adam'), tests.user_id('cora')),
                'attacker: max, a moderator, reads no case about another moderator, an admin or a compliance officer');
SELECT is_empty(format('SELECT reporter_id, description FROM lp.report_filings WHERE case_id IN (%L, %L, %L)',
                       tests.id('c_mona'), tests.id('c_adam'), tests.id('c_cora')),
                'nor their filings (who reported them)');
SELECT is_empty(format('SELECT id FROM lp.moderation_flags WHERE user_id IN (%L, %L)', tests.user_id('mona'), tests.user_id('adam')),
                'nor the flags about staff');
SELECT is_empty(format('SELECT case_id FROM api.review_queue(p_status => NULL) WHERE reported_user_id IN (%L, %L, %L)',
                       tests.user_id('mona'), tests.user_id('adam'), tests.user_id('cora')),
                'nor does his review queue list them');
SELECT * FROM tests.rejects(format('SELECT * FROM api.review_queue(p_after => %L)', tests.id('c_mona')), 'LP003',
                            'deny: a case about staff as the queue''s cursor is not found (LP003)');
SELECT is((SELECT open_cases FROM api.user_summary WHERE username = 'mona'), 0,
          'api.user_summary counts no open case of mona''s for him');
SELECT ok(NOT (tests.claim_all() && ARRAY[tests.id('c_mona'), tests.id('c_adam'), tests.id('c_cora')]),
          'deny: max, claiming every case he can, gets none about staff (a compliance officer''s included)');
SELECT tests.release_all();
SELECT tests.authenticate_as('max');
SELECT is((SELECT count(*)::integer FROM lp.reports WHERE id = tests.id('c_wes')), 1, 'control: max reads the case about wes');
SELECT is((SELECT count(*)::integer FROM lp.report_filings WHERE case_id = tests.id('c_wes')), 1, 'control: and its filing');
SELECT is((SELECT count(*)::integer FROM api.review_queue(p_status => NULL) WHERE case_id = tests.id('c_wes')), 1,
          'control: his queue lists it');
SELECT tests.authenticate_as('max', 'livepanty_service');
SELECT is_empty(format('SELECT id FROM lp.reports WHERE id = %L', tests.id('c_mona')),
                'attacker: not through livepanty_service either');
-- a claim max holds on a case about staff (as one taken before its subject was made staff): he works it no more
SELECT tests.clear_authentication();
SELECT tests.claim(tests.id('c_cora'), 'max');
SELECT tests.authenticate_as('max');
SELECT * FROM tests.rejects(format('SELECT api.extend_case_claim(%L)', tests.id('c_cora')), 'LP002',
                            'deny: a moderator holding a claim on a case about staff cannot extend it (LP002)');
SELECT * FROM tests.rejects(format($$SELECT api.resolve_case(%L, 'dismiss', 'Nothing.', 'No rule broken')$$, tests.id('c_cora')),
                            'LP002', 'deny: nor dismiss it (LP002)');
SELECT tests.release_all();

SELECT tests.authenticate_as('adam');
SELECT is((SELECT count(*)::integer FROM lp.reports WHERE id IN (tests.id('c_mona'), tests.id('c_cora'))), 2,
          'allow: adam, an admin, reads the cases about a moderator and a compliance officer');
SELECT is((SELECT count(*)::integer FROM lp.report_filings WHERE case_id = tests.id('c_mona')), 1,
          'allow: and their filings');
SELECT is((SELECT count(*)::integer FROM api.review_queue(p_status => NULL)
            WHERE case_id IN (tests.id('c_mona'), tests.id('c_cora'))), 2,
          'allow: his queue lists them');
SELECT is((SELECT count(*)::integer FROM lp.reports WHERE id = tests.id('c_adam')), 0,
          'but not the case against himself');
SELECT is((SELECT count(*)::integer FROM api.review_queue(p_status => NULL) WHERE case_id = tests.id('c_adam')), 0,
          'nor does his queue list it');
SELECT ok(tests.id('c_cora') = ANY (tests.claim_all()), 'allow: adam claims the case about the compliance officer');
SELECT ok(NOT tests.id('c_adam') = ANY (tests.claim_all()), 'deny: never the one against himself');
SELECT tests.release_all();
SELECT tests.authenticate_as('ada');
SELECT is((SELECT count(*)::integer FROM lp.report_filings WHERE case_id = tests.id('c_adam')), 1,
          'allow: ada, another admin, reads the filing of the case against adam');
SELECT tests.authenticate_as('cora');
SELECT is_empty('SELECT id FROM lp.reports', 'a compliance officer reads no case (not staff of the review queue)');

-- == a reported admin does not find the reporter in the audit trail ==========================================
SELECT tests.authenticate_as('adam');
SELECT is_empty(format($$SELECT actor_id, details::text FROM lp.audit_logs
                          WHERE action = 'report.file' AND (target_id = %L OR details ->> 'target_id' = %L)$$,
                       tests.id('c_adam'), tests.user_id('adam')),
                'attacker: adam reads no report.file audit row of the case against him (its actor: who reported him)');
SELECT is_empty(format($$SELECT actor_id FROM lp.audit_logs WHERE actor_id = %L AND target_id = %L$$,
                       tests.user_id('vic'), tests.id('c_adam')),
                'nor any row naming the reporter and that case');
SELECT is((SELECT count(*)::integer FROM lp.audit_logs WHERE action = 'report.file' AND target_id = tests.id('c_mona')::text), 1,
          'control: adam reads the report.file row of the case about mona');
SELECT is((SELECT count(*)::integer FROM lp.audit_logs
            WHERE action = 'report.file' AND target_id IN (tests.id('c_wes')::text, tests.id('c_cora')::text)), 2,
          'control: and those of the other cases');
SELECT is((SELECT count(*)::integer FROM lp.audit_logs
            WHERE action = 'flag.raise' AND target_id IN (tests.id('f_wes')::text, tests.id('f_mona')::text, tests.id('f_mona_low')::text)), 3,
          'control: and the rest of the trail (the flags raised about others; those about him: test_flag_sanction_audit_privacy.sql)');
SELECT tests.authenticate_as('adam', 'livepanty_service');
SELECT is_empty(format($$SELECT actor_id FROM lp.audit_logs WHERE action = 'report.file' AND target_id = %L$$, tests.id('c_adam')),
                'attacker: not through livepanty_service either');
SELECT tests.authenticate_as('ada');
SELECT is((SELECT actor_id FROM lp.audit_logs WHERE action = 'report.file' AND target_id = tests.id('c_adam')::text),
          tests.user_id('vic'), 'allow: ada, another admin, reads who reported adam');
-- once the case is dismissed and purged (api.purge_personal_data), the row still names adam as its target
SELECT tests.clear_authentication();
UPDATE lp.reports SET status = 'dismissed', resolved_at = now() - interval '10 years', action = 'dismiss',
                      decision = '{"facts": "nothing"}' WHERE id = tests.id('c_adam');
DELETE FROM lp.reports WHERE id = tests.id('c_adam');
SELECT tests.authenticate_as('adam');
SELECT is_empty(format($$SELECT actor_id FROM lp.audit_logs WHERE action = 'report.file' AND target_id = %L$$, tests.id('c_adam')),
                'attacker: nor once the case is purged (the row names him as the target)');
SELECT tests.authenticate_as('ada');
SELECT is((SELECT count(*)::integer FROM lp.audit_logs WHERE action = 'report.file' AND target_id = tests.id('c_adam')::text), 1,
          'control: ada still reads it');

SELECT * FROM finish();
ROLLBACK;
