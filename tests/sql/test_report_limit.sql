-- Report volume is bounded: api.report took one filing per reporter per case but any number of cases (one per
-- target and reason), so one account could flood the review queue. A user now files at most
-- review.max_reports_per_hour reports in any sixty minutes; the next is refused (LP145) and changes nothing.
-- Every filing counts (a filing on a case that closed since too); staff and the back office acting for a user
-- (api.act_as) are not limited. The setting is checked by api.set_setting.
BEGIN;
SELECT plan(32);

-- Helpers of this file (SECURITY DEFINER: past RLS, whatever role acts):
--   tests.age_filings(username, minutes)  that user's filings were made that many minutes earlier
--   tests.state()                          what a refusal must leave as it was
CREATE FUNCTION tests.age_filings(p_username text, p_minutes integer) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    UPDATE lp.report_filings SET created_at = created_at - make_interval(mins => p_minutes)
     WHERE reporter_id = tests.user_id(p_username)
$$;
CREATE FUNCTION tests.state() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT concat_ws(' / ',
        (SELECT string_agg(concat_ws(',', r.id, r.status, r.reporter_count, r.priority_score), ';' ORDER BY r.id)
           FROM lp.reports AS r),
        (SELECT string_agg(f.id::text, ';' ORDER BY f.id) FROM lp.report_filings AS f),
        (SELECT string_agg(s.key || '=' || s.value::text, ',' ORDER BY s.key) FROM lp.settings AS s
          WHERE s.key LIKE 'review.%'),
        (SELECT count(*) FROM lp.audit_logs))
$$;
CREATE FUNCTION tests.filings_of(p_username text) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT count(*) FROM lp.report_filings AS f WHERE f.reporter_id = tests.user_id(p_username)
$$;

DO $$
BEGIN
    PERFORM tests.create_user('vic');
    PERFORM tests.create_user('val');
    PERFORM tests.create_user('tom');
    PERFORM tests.create_user('tim');
    PERFORM tests.create_user('tia');
    PERFORM tests.create_user('ted');
    PERFORM tests.create_user('tam');
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
END
$$;

-- == the setting ============================================================================================
SELECT is((SELECT value FROM lp.settings WHERE key = 'review.max_reports_per_hour'), '20'::jsonb,
          'review.max_reports_per_hour is seeded: 20 reports');
SELECT has_index('lp', 'report_filings', 'report_filings_reporter_idx', ARRAY['reporter_id', 'created_at'],
                 'the count reads an index of a reporter''s filings by time');
SELECT tests.authenticate_as('adam');
SELECT * FROM tests.rejects($$SELECT api.set_setting('review.max_reports_per_hour', '0')$$, 'LP092',
                            'deny: a limit of 0 reports (LP092)');
SELECT * FROM tests.rejects($$SELECT api.set_setting('review.max_reports_per_hour', '10001')$$, 'LP092',
                            'deny: a limit above 10000 (LP092)');
SELECT * FROM tests.rejects($$SELECT api.set_setting('review.max_reports_per_hour', '2.5')$$, 'LP092',
                            'deny: a limit that is no whole number (LP092)');
SELECT is((api.set_setting('review.max_reports_per_hour', '3')).value, '3'::jsonb,
          'allow: an admin sets a limit of 3 reports an hour');
SELECT tests.clear_authentication();

-- == a reporter files up to the limit, then is refused ======================================================
SELECT tests.authenticate_as('vic');
SELECT isnt((api.report('user', tests.user_id('tom'), 'spam')).id, NULL, 'allow: vic reports tom (1 of 3)');
SELECT lives_ok($$SELECT api.report('user', tests.user_id('tim'), 'spam')$$, 'allow: vic reports tim (2 of 3)');
SELECT lives_ok($$SELECT api.report('profile', tests.user_id('tia'), 'harassment', 'rude bio')$$,
                'allow: vic reports tia''s profile (3 of 3)');
SELECT * FROM tests.rejects($$SELECT api.report('user', tests.user_id('ted'), 'spam')$$, 'LP145',
                            'deny: the fourth report within the hour is refused (LP145)');
SELECT * FROM tests.rejects($$SELECT api.report('user', tests.user_id('ted'), 'underage')$$, 'LP145',
                            'deny: whatever the reason (LP145)');
-- the refusal says when the next report may be filed
SELECT throws_like($$SELECT api.report('user', tests.user_id('tam'), 'spam')$$,
                   'too many reports in the last hour', 'the refusal is the report limit''s');
SELECT is(tests.filings_of('vic'), 3::bigint, 'vic filed three reports, no more');
SELECT tests.clear_authentication();

-- == another reporter is not affected =======================================================================
SELECT tests.authenticate_as('val');
SELECT lives_ok($$SELECT api.report('user', tests.user_id('ted'), 'spam')$$,
                'control: val reports ted (vic''s limit is vic''s)');
SELECT tests.clear_authentication();

-- == staff and the back office are not limited ==============================================================
SELECT tests.authenticate_as('mona');
SELECT lives_ok($$SELECT api.report('user', tests.user_id('tom'), 'spam')$$, 'allow: mona, staff, reports tom');
SELECT lives_ok($$SELECT api.report('user', tests.user_id('tim'), 'spam')$$, 'allow: tim');
SELECT lives_ok($$SELECT api.report('user', tests.user_id('tia'), 'spam')$$, 'allow: tia');
SELECT lives_ok($$SELECT api.report('user', tests.user_id('ted'), 'spam')$$,
                'allow: and ted: staff are not limited');
SELECT tests.clear_authentication();
SELECT set_config('role', 'livepanty_service', true);
DO $$ BEGIN PERFORM api.act_as(tests.user_id('vic'), 'support files a report for vic'); END $$;
SELECT lives_ok($$SELECT api.report('user', tests.user_id('tam'), 'spam', 'filed by support')$$,
                'allow: the back office acting for vic files a fourth report for her');
SELECT tests.clear_authentication();
SELECT is(tests.filings_of('vic'), 4::bigint, 'it is vic''s filing');

-- == the window slides: an hour after the oldest, one more ==================================================
SELECT tests.age_filings('vic', 59);
SELECT tests.authenticate_as('vic');
SELECT * FROM tests.rejects($$SELECT api.report('user', tests.user_id('ted'), 'spam')$$, 'LP145',
                            'deny: 59 minutes later still refused (LP145)');
SELECT tests.clear_authentication();
SELECT tests.age_filings('vic', 2);
SELECT tests.authenticate_as('vic');
SELECT lives_ok($$SELECT api.report('user', tests.user_id('ted'), 'spam')$$,
                'allow: once they are an hour old, vic reports ted');

-- == a filing on a case that closed since counts ============================================================
SELECT tests.clear_authentication();
SELECT tests.authenticate_as('adam');
SELECT lives_ok($$SELECT api.set_setting('review.max_reports_per_hour', '2')$$, 'setup: a limit of 2');
SELECT tests.clear_authentication();
UPDATE lp.reports SET status = 'dismissed', resolved_at = now()
 WHERE id = (SELECT f.case_id FROM lp.report_filings AS f
              WHERE f.reporter_id = tests.user_id('vic') AND f.created_at > now() - interval '1 minute');
SELECT tests.authenticate_as('vic');
SELECT lives_ok($$SELECT api.report('user', tests.user_id('ted'), 'spam')$$,
                'allow: vic reports ted again once the case closed: a new case (2 of 2)');
SELECT * FROM tests.rejects($$SELECT api.report('user', tests.user_id('tam'), 'harassment')$$, 'LP145',
                            'deny: the filing on the closed case counted: the next is refused (LP145)');
SELECT tests.clear_authentication();

SELECT * FROM finish();
ROLLBACK;
