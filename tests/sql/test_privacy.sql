-- What users who are not staff may read of others (issue 6, point 5):
--   A. staff ids: a user's own KYC verification, payout, sanction, adjustment and report name the staff member
--      who handled them only by a label ('admin #3f9a'); the id columns are granted to no application role and
--      the api functions fill them for staff only;
--   B. other users' IP addresses, e-mail addresses and dates of birth: a host reads who watched their streams,
--      never the viewers' IPs; nothing a non-staff user can read (any column of any lp table, the api reads)
--      holds another user's IP, e-mail or date of birth.
-- The probes scan every column the current role may SELECT in every lp table, and every row of the api views
-- and argument-free api reads it may call, as text, so a column, policy or read added later that leaks is
-- caught too.
--
-- Fixture (made as the superuser and through the api):
--   users    vera (viewer; e-mail vera@example.com, born 1987-06-05, IP 198.51.100.23), victor (viewer),
--            pia (performer), mona (moderator), adam (admin)
--   stream   s1 hosted by pia, watched by vera from her IP; vera logged in from it too
--   A        pia's identity KYC submitted by pia, approved by adam; pia's payout po-1 approved by adam;
--            victor warned by mona (api.sanction_user), the warning lifted by adam (api.revoke_sanction);
--            adam's adjustment of victor's wallet (api.adjust_balance); vera's report r1 against victor,
--            assigned to mona and resolved by adam
BEGIN;
SELECT plan(47);

-- Shared helpers (tests/sql/helpers/*.sql, loaded once into the template database by tests/conftest.py):
--   00_identity.sql: tests.password(), tests.create_user(username, role), tests.user_id(username),
--                    tests.authenticate_as(username, role), tests.clear_authentication()
--   10_scratch.sql:  tests.put, tests.get, tests.remember, tests.id

-- Helpers of this file.
-- Every non-NULL value, as text, of every column the current role may SELECT in every lp table (RLS decides
-- the rows): place = table.column; and every row, as text, of every api view the role may read and of every
-- api read it may call without arguments (a STABLE function whose arguments all have defaults; one that
-- refuses the caller is skipped): place = the view or api.name().
CREATE FUNCTION tests.readable_values() RETURNS TABLE (place text, value text)
    LANGUAGE plpgsql AS $$
DECLARE
    v_table  regclass;
    v_column name;
    v_read   regproc;
BEGIN
    FOR v_table, v_column IN
        SELECT c.oid::regclass, a.attname
          FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid
         WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
           AND has_column_privilege(c.oid, a.attnum, 'SELECT')
    LOOP
        RETURN QUERY EXECUTE format('SELECT %L, %I::text FROM %s WHERE %I IS NOT NULL',
                                    v_table::text || '.' || v_column, v_column, v_table, v_column);
    END LOOP;
    FOR v_table IN
        SELECT c.oid::regclass FROM pg_catalog.pg_class AS c
         WHERE c.relnamespace = 'api'::regnamespace AND c.relkind = 'v' AND has_table_privilege(c.oid, 'SELECT')
    LOOP
        RETURN QUERY EXECUTE format('SELECT %L, x::text FROM %s AS x', v_table::text, v_table);
    END LOOP;
    FOR v_read IN
        SELECT p.oid::regproc FROM pg_catalog.pg_proc AS p
         WHERE p.pronamespace = 'api'::regnamespace AND p.prokind = 'f' AND p.provolatile IN ('s', 'i')
           AND p.pronargdefaults = p.pronargs AND has_function_privilege(p.oid, 'EXECUTE')
    LOOP
        BEGIN
            RETURN QUERY EXECUTE format('SELECT %L, x::text FROM %s() AS x', v_read::text || '()', v_read);
        EXCEPTION WHEN OTHERS THEN
            NULL;  -- refused to this caller (LP002, LP001, ...): nothing read
        END;
    END LOOP;
END
$$;
-- The places (and api reads) where any of the given needles shows up, case-insensitively.
CREATE FUNCTION tests.leaks(p_needles text[]) RETURNS SETOF text
    LANGUAGE sql AS $$
    SELECT DISTINCT r.place FROM tests.readable_values() AS r, unnest(p_needles) AS n (needle)
     WHERE strpos(lower(r.value), lower(n.needle)) > 0
$$;
-- The label a staff member's id should be shown as, computed here from the key (independently of lp.staff_label).
CREATE FUNCTION tests.expected_label(p_username text, p_role text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT p_role || ' #' || left(encode(ext.hmac(convert_to('lp-staff-label-v1|' || tests.user_id(p_username)::text,
                                                              'UTF8'), s.value, 'sha256'), 'hex'), 4)
      FROM lp.secrets AS s WHERE s.name = 'pseudonym'
$$;
CREATE FUNCTION tests.staff_ids() RETURNS text[]
    LANGUAGE sql STABLE AS $$
    SELECT ARRAY[tests.user_id('mona')::text, tests.user_id('adam')::text]
$$;

-- == Fixture ===============================================================================================
DO $$
DECLARE
    v_s1  uuid := gen_random_uuid();
    v_kyc uuid;
BEGIN
    PERFORM api.register_user('vera@example.com', 'vera', tests.password(), DATE '1987-06-05');
    PERFORM tests.create_user('victor');
    PERFORM tests.create_user('pia', 'performer', p_verified => false);
    PERFORM tests.create_user('mona', 'moderator');
    PERFORM tests.create_user('adam', 'admin');
    PERFORM api.login('vera', tests.password(), '198.51.100.23', 'ua-vera');
    INSERT INTO lp.streams (id, host_id, title, status, visibility, started_at)
    VALUES (v_s1, tests.user_id('pia'), 's1', 'live', 'public', now());
    INSERT INTO lp.stream_viewers (stream_id, user_id, ip_address)
    VALUES (v_s1, tests.user_id('vera'), '198.51.100.23'), (v_s1, tests.user_id('victor'), '203.0.113.9');

    PERFORM tests.authenticate_as('pia');
    v_kyc := (api.submit_kyc('identity', 'passport', 'DE', 's3://kyc-docs/pia-front.jpg')).id;
    PERFORM tests.authenticate_as('adam');
    PERFORM api.approve_kyc(v_kyc);
    PERFORM tests.put('adjustment', api.adjust_balance(tests.user_id('victor'), 5, 'goodwill', 'adj-1'));
    PERFORM tests.authenticate_as('mona');
    PERFORM tests.put('sanction', api.sanction_user(tests.user_id('victor'), 'warning', 'be nice'));
    PERFORM tests.authenticate_as('adam');
    PERFORM api.revoke_sanction((tests.get('sanction', 'id'))::uuid, 'appeal accepted');
    PERFORM tests.clear_authentication();

    INSERT INTO lp.payouts (user_id, kyc_verification_id, tokens, tokens_per_unit, amount_minor, method, status,
                            reviewed_by, reviewed_at, idempotency_key)
    VALUES (tests.user_id('pia'), v_kyc, 5000, 100, 5000, 'paypal', 'approved', tests.user_id('adam'), now(), 'po-1');
    INSERT INTO lp.reports (reporter_id, reported_user_id, reason, description, status, assigned_to, resolved_by,
                            resolved_at)
    VALUES (tests.user_id('vera'), tests.user_id('victor'), 'harassment', 'r1', 'resolved', tests.user_id('mona'),
            tests.user_id('adam'), now());
END
$$;

-- == A. Staff ids ==========================================================================================
SELECT tests.authenticate_as('pia');
SELECT throws_ok($$SELECT reviewed_by FROM lp.kyc_verifications$$, '42501', NULL,
                 'A user: lp.kyc_verifications.reviewed_by (the reviewer''s id) is not readable, even in their own row');
SELECT results_eq($$SELECT reviewed_by_label FROM lp.kyc_verifications$$, ARRAY[tests.expected_label('adam', 'admin')],
                  'A user: their own verification names the reviewer by label (admin #xxxx)');
SELECT results_eq($$SELECT reviewed_by, reviewed_by_label, status::text FROM api.get_kyc_status()$$,
                  format('VALUES (NULL::uuid, %L, %L)', tests.expected_label('adam', 'admin'), 'approved'),
                  'A user: api.get_kyc_status gives no reviewer id, only the label');
SELECT throws_ok($$SELECT reviewed_by FROM lp.payouts$$, '42501', NULL,
                 'A user: lp.payouts.reviewed_by is not readable, even in their own payout');
SELECT results_eq($$SELECT reviewed_by_label FROM lp.payouts$$, ARRAY[tests.expected_label('adam', 'admin')],
                  'A user: their own payout names the reviewer by label');
SELECT results_eq($$SELECT reviewed_by, reviewed_by_label FROM api.list_payouts()$$,
                  format('VALUES (NULL::uuid, %L)', tests.expected_label('adam', 'admin')),
                  'A user: api.list_payouts gives no reviewer id, only the label');
SELECT results_eq($$SELECT reviewed_by, reviewed_by_label, status::text FROM api.request_payout(5000, 'paypal', 'po-1')$$,
                  format('VALUES (NULL::uuid, %L, %L)', tests.expected_label('adam', 'admin'), 'approved'),
                  'A user: a replayed api.request_payout returns the reviewed payout without the reviewer id');
SELECT is_empty(format($$SELECT x::text FROM api.get_kyc_status() AS x WHERE strpos(x::text, %L) > 0
                         UNION ALL SELECT x::text FROM api.list_payouts() AS x WHERE strpos(x::text, %L) > 0$$,
                       tests.user_id('adam'), tests.user_id('adam')),
                'A user: no whole row of api.get_kyc_status or api.list_payouts contains the admin''s id');

SELECT tests.authenticate_as('victor');
SELECT throws_ok($$SELECT issued_by FROM lp.user_sanctions$$, '42501', NULL,
                 'A sanctioned user: lp.user_sanctions.issued_by is not readable');
SELECT throws_ok($$SELECT revoked_by FROM lp.user_sanctions$$, '42501', NULL,
                 'A sanctioned user: lp.user_sanctions.revoked_by is not readable');
SELECT results_eq($$SELECT issued_by_label, revoked_by_label FROM lp.user_sanctions$$,
                  format('VALUES (%L, %L)', tests.expected_label('mona', 'moderator'), tests.expected_label('adam', 'admin')),
                  'A sanctioned user: their sanction names who issued and who lifted it by label');
SELECT throws_ok($$SELECT created_by FROM lp.adjustments$$, '42501', NULL,
                 'A user: lp.adjustments.created_by is not readable, even for their own wallet');
SELECT results_eq($$SELECT created_by_label, amount FROM lp.adjustments$$,
                  format('VALUES (%L, 5::bigint)', tests.expected_label('adam', 'admin')),
                  'A user: the adjustment of their wallet names the admin by label');
SELECT throws_ok($$SELECT * FROM lp.user_sanctions$$, '42501', NULL,
                 'A user: SELECT * on lp.user_sanctions fails (it would include the staff ids)');

SELECT tests.authenticate_as('vera');
SELECT throws_ok($$SELECT assigned_to FROM lp.reports$$, '42501', NULL, 'A reporter: lp.reports.assigned_to is not readable');
SELECT throws_ok($$SELECT resolved_by FROM lp.reports$$, '42501', NULL, 'A reporter: lp.reports.resolved_by is not readable');
SELECT is_empty($$SELECT assigned_to_label, resolved_by_label, status::text FROM lp.reports$$,
                'A reporter: reads no case, not even the one they reported (only staff read cases; RLS on lp.reports)');

-- The probe: no staff id anywhere a non-staff user can read.
SELECT tests.authenticate_as('vera');
SELECT is_empty($$SELECT * FROM tests.leaks(tests.staff_ids())$$, 'A probe: vera (reporter) reads no staff id in any lp column');
SELECT tests.authenticate_as('victor');
SELECT is_empty($$SELECT * FROM tests.leaks(tests.staff_ids())$$, 'A probe: victor (sanctioned, adjusted) reads no staff id in any lp column');
SELECT tests.authenticate_as('pia');
SELECT is_empty($$SELECT * FROM tests.leaks(tests.staff_ids())$$, 'A probe: pia (KYC, payout) reads no staff id in any lp column');
SELECT tests.authenticate_as('pia', 'livepanty_service');
SELECT is_empty($$SELECT * FROM tests.leaks(tests.staff_ids())$$, 'A probe: the same through livepanty_service');
SELECT cmp_ok((SELECT count(DISTINCT place)::integer FROM tests.readable_values() WHERE place LIKE 'api.%'), '>=', 10,
              'A probe: it reads the api too (its views and every argument-free read the role may call)');

-- Staff keep the ids where they work with them (the api functions), and see the labels too.
SELECT tests.authenticate_as('adam');
SELECT results_eq(format('SELECT reviewed_by, reviewed_by_label FROM api.get_kyc_status(%L)', tests.user_id('pia')),
                  format('VALUES (%L::uuid, %L)', tests.user_id('adam'), tests.expected_label('adam', 'admin')),
                  'A admin: api.get_kyc_status of a user gives the reviewer''s id');
SELECT results_eq(format('SELECT reviewed_by FROM api.list_payouts(%L)', tests.user_id('pia')),
                  format('VALUES (%L::uuid)', tests.user_id('adam')),
                  'A admin: api.list_payouts gives the reviewer''s id');
SELECT throws_ok($$SELECT reviewed_by FROM lp.payouts$$, '42501', NULL,
                 'A admin: not through a direct SELECT either (the column is granted to no application role)');
SELECT is(tests.get('sanction', 'issued_by'), tests.user_id('mona')::text,
          'A moderator: api.sanction_user returns the issuer''s id to the staff member who called it');
SELECT is(tests.get('adjustment', 'created_by'), tests.user_id('adam')::text,
          'A admin: api.adjust_balance returns the admin''s id');
SELECT is(tests.get('sanction', 'issued_by_label'), tests.expected_label('mona', 'moderator'),
          'A moderator: the returned sanction carries the label too');

-- The labels: one per staff member wherever they acted, the role they had then, and nobody writes them.
SELECT tests.clear_authentication();
SELECT results_eq($$SELECT count(DISTINCT l) FROM (
                      SELECT reviewed_by_label FROM lp.kyc_verifications UNION ALL SELECT reviewed_by_label FROM lp.payouts
                      UNION ALL SELECT revoked_by_label FROM lp.user_sanctions UNION ALL SELECT created_by_label FROM lp.adjustments
                      UNION ALL SELECT resolved_by_label FROM lp.reports) AS x (l)$$,
                  ARRAY[1::bigint], 'A labels: the same admin has the same label in every table (stable)');
SELECT isnt(tests.expected_label('adam', 'admin'), tests.expected_label('mona', 'admin'),
            'A labels: two staff members get different labels');
UPDATE lp.users SET role = 'viewer' WHERE id = tests.user_id('mona');
UPDATE lp.user_sanctions SET ends_at = now() + interval '1 day' WHERE user_id = tests.user_id('victor');
SELECT results_eq($$SELECT issued_by_label FROM lp.user_sanctions$$, ARRAY[tests.expected_label('mona', 'moderator')],
                  'A labels: a label keeps the role the member had when they acted (mona demoted since, row updated since)');
UPDATE lp.users SET role = 'moderator' WHERE id = tests.user_id('mona');
UPDATE lp.user_sanctions SET issued_by_label = 'adam the admin', revoked_by_label = NULL;
SELECT results_eq($$SELECT issued_by_label, revoked_by_label FROM lp.user_sanctions$$,
                  format('VALUES (%L, %L)', tests.expected_label('mona', 'moderator'), tests.expected_label('adam', 'admin')),
                  'A labels: nobody writes a label, not even the owner or a superuser (the trigger keeps it)');
UPDATE lp.reports SET assigned_to = tests.user_id('adam');
SELECT results_eq($$SELECT assigned_to_label FROM lp.reports$$, ARRAY[tests.expected_label('adam', 'admin')],
                  'A labels: a new staff id gets its own label');
UPDATE lp.reports SET assigned_to = NULL;
SELECT results_eq($$SELECT assigned_to_label FROM lp.reports$$, ARRAY[NULL::text],
                  'A labels: no staff id, no label');

-- == B. Other users' IP addresses, e-mail addresses, dates of birth ========================================
SELECT tests.authenticate_as('pia');
SELECT throws_ok($$SELECT ip_address FROM lp.stream_viewers$$, '42501', NULL,
                 'B host: the IP addresses of who watched their stream are not readable');
SELECT set_eq($$SELECT user_id FROM lp.stream_viewers$$, ARRAY[tests.user_id('vera'), tests.user_id('victor')],
              'B host: still reads who watched their stream (the viewer list, without IPs)');
SELECT is_empty($$SELECT * FROM tests.leaks(ARRAY['198.51.100.23', 'vera@example.com', '1987-06-05'])$$,
                'B probe: the host reads no viewer''s IP, e-mail or date of birth in any lp column');
SELECT is_empty($$SELECT p::text FROM api.public_profile(tests.user_id('vera')) AS p
                   WHERE p::text ~* '198\.51\.100\.23|vera@example\.com|1987-06-05'
                  UNION ALL
                  SELECT s::text FROM api.stream_summary AS s
                   WHERE s::text ~* '198\.51\.100\.23|vera@example\.com|1987-06-05'$$,
                'B probe: nor through api.public_profile of the viewer or api.stream_summary');
SELECT throws_ok(format('SELECT api.get_user(%L)', tests.user_id('vera')), 'LP003', NULL,
                 'B host: api.get_user of a viewer is refused (LP003)');
SELECT tests.authenticate_as('pia', 'livepanty_service');
SELECT throws_ok($$SELECT ip_address FROM lp.stream_viewers$$, '42501', NULL,
                 'B host through livepanty_service: viewer IPs are not readable either');

SELECT tests.authenticate_as('victor');
SELECT is_empty($$SELECT * FROM tests.leaks(ARRAY['198.51.100.23', 'vera@example.com', '1987-06-05'])$$,
                'B probe: another viewer of the same stream reads nothing of vera''s IP, e-mail or date of birth');

SELECT tests.authenticate_as('vera');
SELECT throws_ok($$SELECT ip_address FROM lp.stream_viewers$$, '42501', NULL,
                 'B viewer: the IP column of viewing sessions is granted to no application role (their own row neither)');
SELECT results_eq($$SELECT email::text, date_of_birth FROM lp.users$$, $$VALUES ('vera@example.com', DATE '1987-06-05')$$,
                  'B viewer: their own e-mail and date of birth stay readable to them');
SELECT results_eq($$SELECT host(ip_address) FROM lp.auth_sessions$$, ARRAY['198.51.100.23'],
                  'B viewer: the IP of their own login sessions too');

-- Staff: moderators no longer read viewers' IPs either; admins keep the login IPs (sessions) for fraud work.
SELECT tests.authenticate_as('mona');
SELECT throws_ok($$SELECT ip_address FROM lp.stream_viewers$$, '42501', NULL,
                 'B moderator: viewers'' IP addresses are not readable');
SELECT set_eq($$SELECT user_id FROM lp.stream_viewers$$, ARRAY[tests.user_id('vera'), tests.user_id('victor')],
              'B moderator: still reads every viewing session');
SELECT tests.authenticate_as('adam');
SELECT results_eq(format('SELECT host(ip_address) FROM lp.auth_sessions WHERE user_id = %L', tests.user_id('vera')),
                  ARRAY['198.51.100.23'], 'B admin: reads a user''s login IPs (lp.auth_sessions) for fraud work');

SELECT tests.clear_authentication();
SELECT * FROM finish();
ROLLBACK;
