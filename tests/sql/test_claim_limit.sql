-- A claim on a review case is bounded: api.extend_case_claim renews the lease for review.claim_minutes, but
-- never past review.max_claim_minutes after the claim was taken (lp.reports.claimed_at); at that limit the
-- extension is refused (LP144) and the claim runs out as any other, after which another moderator claims the
-- case. api.claim_case's lease never passes the limit either. The setting is checked by api.set_setting.
-- Nor does a moderator renew a claim by taking the case again: api.claim_case does not hand a moderator back a
-- case whose claim of theirs ended (released, or ran out) less than review.claim_minutes ago (meanwhile it goes
-- to the others), and a running claim of theirs is never handed out again (it is nobody's to claim).
BEGIN;
SELECT plan(46);

-- Helpers of this file (SECURITY DEFINER: past RLS, whatever role acts):
--   tests.case_row(id)              the case
--   tests.pass_time(id, minutes)    that many minutes pass for the claim (its claim, lease and release times
--                                   move back)
--   tests.state()                   what a refusal must leave as it was
CREATE FUNCTION tests.case_row(p_id uuid) RETURNS lp.reports
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT r.* FROM lp.reports AS r WHERE r.id = p_id
$$;
CREATE FUNCTION tests.pass_time(p_id uuid, p_minutes integer) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    UPDATE lp.reports SET claimed_at = claimed_at - make_interval(mins => p_minutes),
                          claim_expires_at = claim_expires_at - make_interval(mins => p_minutes)
     WHERE id = p_id;
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'lp.reports'::regclass AND attname = 'released_at') THEN
        EXECUTE 'UPDATE lp.reports SET released_at = released_at - make_interval(mins => $2) WHERE id = $1'
            USING p_id, p_minutes;
    END IF;
END
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(' / ',
        (SELECT string_agg(concat_ws(',', r.id, r.status, r.assigned_to, r.claimed_at, r.claim_expires_at), ';'
                           ORDER BY r.id) FROM lp.reports AS r),
        (SELECT string_agg(s.key || '=' || s.value::text, ',' ORDER BY s.key) FROM lp.settings AS s
          WHERE s.key LIKE 'review.%'),
        (SELECT count(*) FROM lp.audit_logs))
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('wes');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('max', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM tests.authenticate_as('vic');
    PERFORM tests.remember('c', (api.report('user', tests.user_id('wes'), 'harassment', 'insults')).case_id);
    PERFORM tests.clear_authentication();
END
$$;

-- == the setting ============================================================================================
SELECT is((SELECT value FROM lp.settings WHERE key = 'review.max_claim_minutes'), '120'::jsonb,
          'review.max_claim_minutes is seeded: 120 minutes (4 leases of review.claim_minutes)');
SELECT matches((SELECT description FROM lp.settings WHERE key = 'review.claim_minutes'),
               'api\.extend_case_claim renews it from now.*api\.claim_case does not hand a moderator back a case whose claim of theirs ended',
               'the description of review.claim_minutes names both its uses: the lease and how long a former holder waits');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects($$SELECT api.set_setting('review.max_claim_minutes', '0')$$, 'LP092',
                            'deny: a claim limit of 0 minutes (LP092)');
SELECT * FROM tests.rejects($$SELECT api.set_setting('review.max_claim_minutes', '10081')$$, 'LP092',
                            'deny: a claim limit above a week (LP092)');
SELECT * FROM tests.rejects($$SELECT api.set_setting('review.max_claim_minutes', '"forever"')$$, 'LP092',
                            'deny: a claim limit that is no number (LP092)');
SELECT is((api.set_setting('review.max_claim_minutes', '90')).value, '90'::jsonb, 'allow: an admin sets a limit of 90 minutes');
SELECT tests.clear_authentication();

-- == extensions stop at the limit ===========================================================================
SELECT tests.authenticate_as('mona');
SELECT is((SELECT id FROM api.claim_case()), tests.id('c'), 'setup: mona claims the case');
SELECT tests.pass_time(tests.id('c'), 20);
SELECT is((api.extend_case_claim(tests.id('c'))).claim_expires_at, now() + interval '30 minutes',
          'allow: 20 minutes into her claim mona extends it by review.claim_minutes (30) from now');
SELECT tests.pass_time(tests.id('c'), 25);
SELECT is((api.extend_case_claim(tests.id('c'))).claim_expires_at, now() + interval '30 minutes',
          'allow: 45 minutes in, again');
SELECT tests.pass_time(tests.id('c'), 25);
SELECT is((api.extend_case_claim(tests.id('c'))).claim_expires_at, now() + interval '20 minutes',
          'allow: 70 minutes in, the extension reaches only to review.max_claim_minutes (90) after the claim');
SELECT is((tests.case_row(tests.id('c'))).claim_expires_at - (tests.case_row(tests.id('c'))).claimed_at, interval '90 minutes',
          'the claim now lasts exactly review.max_claim_minutes');
SELECT is(tests.audits('case.extend_claim', tests.id('c')), 3::bigint, 'the extensions audited (case.extend_claim)');
SELECT * FROM tests.rejects(format('SELECT api.extend_case_claim(%L)', tests.id('c')), 'LP144',
                            'deny: a claim that reached the limit cannot be extended (LP144)');
SELECT tests.pass_time(tests.id('c'), 19);
SELECT * FROM tests.rejects(format('SELECT api.extend_case_claim(%L)', tests.id('c')), 'LP144',
                            'deny: nor a minute before it runs out (LP144)');

-- == the claim then runs out as any other ===================================================================
SELECT is((SELECT id FROM api.claim_case()), NULL, 'mona''s running claim is not handed out again (nor any case)');
SELECT is((api.release_case(tests.id('c'))).status::text, 'open', 'the holder may still give the case back');
SELECT is((SELECT id FROM api.claim_case()), NULL,
          'deny: but is not handed it back at once (a fresh claim would renew hers past the limit)');
SELECT is((tests.case_row(tests.id('c'))).assigned_to, NULL, 'the case stays in the queue, unclaimed');
SELECT tests.pass_time(tests.id('c'), 29);
SELECT is((SELECT id FROM api.claim_case()), NULL, 'deny: nor 29 minutes after she gave it back');
SELECT tests.pass_time(tests.id('c'), 1);
SELECT is((SELECT id FROM api.claim_case()), tests.id('c'),
          'allow: review.claim_minutes (30) after she gave it back, mona claims it again (a new claim)');
SELECT tests.pass_time(tests.id('c'), 25);
SELECT is((api.extend_case_claim(tests.id('c'))).claim_expires_at, now() + interval '30 minutes',
          'allow: the new claim is extended from its own start');
SELECT tests.pass_time(tests.id('c'), 25);
SELECT ok((api.extend_case_claim(tests.id('c'))).claim_expires_at = now() + interval '30 minutes', 'allow: again');
SELECT tests.pass_time(tests.id('c'), 29);
SELECT is((api.extend_case_claim(tests.id('c'))).claim_expires_at, now() + interval '11 minutes',
          'allow: 79 minutes in, up to the limit only');
SELECT * FROM tests.rejects(format('SELECT api.extend_case_claim(%L)', tests.id('c')), 'LP144',
                            'deny: at the limit again (LP144)');
SELECT tests.pass_time(tests.id('c'), 11);  -- 90 minutes after her claim: it ran out
SELECT tests.authenticate_as('max');
SELECT is((SELECT id FROM api.claim_case()), tests.id('c'), 'once her lease ran out, max claims the case');
SELECT ok((tests.case_row(tests.id('c'))).claimed_at = now()
          AND (tests.case_row(tests.id('c'))).assigned_to = tests.user_id('max'),
          'his claim starts now: the limit counts from his claim');
SELECT tests.authenticate_as('mona');
SELECT * FROM tests.rejects(format('SELECT api.extend_case_claim(%L)', tests.id('c')), 'LP142',
                            'deny: mona cannot extend max''s claim (LP142)');

-- == a claim that ran out is not taken again at once by its holder ==========================================
SELECT tests.authenticate_as('max');
SELECT tests.pass_time(tests.id('c'), 30);  -- max's lease ran out just now
SELECT is((SELECT id FROM api.claim_case()), NULL, 'deny: the moment his claim ran out, max is not handed the case back');
SELECT ok((tests.case_row(tests.id('c'))).claimed_at = now() - interval '30 minutes'
          AND (tests.case_row(tests.id('c'))).assigned_to = tests.user_id('max'),
          'his claim that ran out is left as it was');
SELECT tests.pass_time(tests.id('c'), 29);
SELECT is((SELECT id FROM api.claim_case()), NULL, 'deny: nor 29 minutes after it ran out');
SELECT tests.pass_time(tests.id('c'), 1);
SELECT is((SELECT id FROM api.claim_case()), tests.id('c'),
          'allow: review.claim_minutes (30) after it ran out, max claims it again');
SELECT is((tests.case_row(tests.id('c'))).claimed_at, now(), 'a new claim: the limit counts from now');

-- == another moderator is not held up by someone else's release ============================================
SELECT is((api.release_case(tests.id('c'))).status::text, 'open', 'setup: max gives it back');
SELECT tests.authenticate_as('mona');
SELECT is((SELECT id FROM api.claim_case()), tests.id('c'), 'allow: mona claims the case max just gave back');
SELECT is((api.release_case(tests.id('c'))).status::text, 'open', 'setup: mona gives it back too');

-- == a lease never passes the limit =========================================================================
SELECT tests.authenticate_as('adam');
SELECT is((api.set_setting('review.max_claim_minutes', '20')).value, '20'::jsonb,
          'setup: a limit (20) below review.claim_minutes (30)');
SELECT tests.authenticate_as('max');
SELECT is((SELECT claim_expires_at FROM api.claim_case()), now() + interval '20 minutes',
          'a new claim''s lease ends at the limit, not after review.claim_minutes');
SELECT * FROM tests.rejects(format('SELECT api.extend_case_claim(%L)', tests.id('c')), 'LP144',
                            'deny: and cannot be extended (LP144)');

SELECT * FROM finish();
ROLLBACK;
