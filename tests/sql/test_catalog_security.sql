-- Security invariants over the whole catalog. Every check queries pg_catalog generically, so it covers every
-- table, view and function of schemas lp and api that exists now or is added later; a failure lists the
-- offending objects. No object is listed by hand except the three functions livepanty_readonly may run.
BEGIN;
SELECT plan(43);

-- == Row level security ====================================================================================
SELECT isnt_empty($$SELECT 1 FROM pg_catalog.pg_class WHERE relnamespace = 'lp'::regnamespace AND relkind IN ('r', 'p')$$,
                  'schema lp has tables (the checks below are not vacuous)');
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_catalog.pg_class AS c
     WHERE c.relnamespace IN ('lp'::regnamespace, 'api'::regnamespace) AND c.relkind IN ('r', 'p')
       AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
$$, 'every table in lp (and api) has row level security enabled and forced');
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_catalog.pg_class AS c
     WHERE c.relnamespace IN ('lp'::regnamespace, 'api'::regnamespace) AND c.relkind IN ('r', 'p')
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy AS p WHERE p.polrelid = c.oid)
$$, 'every table in lp has at least one policy (forced RLS without one would lock out the api functions too)');
SELECT is_empty($$
    SELECT p.polrelid::regclass::text || ': ' || p.polname FROM pg_catalog.pg_policy AS p
      JOIN pg_catalog.pg_class AS c ON c.oid = p.polrelid
     WHERE c.relnamespace = 'lp'::regnamespace AND (p.polroles @> ARRAY[0::oid] OR p.polroles = '{}')
$$, 'no policy in lp applies to PUBLIC');
SELECT is_empty($$
    SELECT p.polrelid::regclass::text || ': ' || p.polname FROM pg_catalog.pg_policy AS p
      JOIN pg_catalog.pg_class AS c ON c.oid = p.polrelid
     WHERE c.relnamespace = 'lp'::regnamespace AND p.polcmd <> 'r'
       AND EXISTS (SELECT 1 FROM unnest(p.polroles) AS r (oid)
                    WHERE r.oid IN (SELECT oid FROM pg_catalog.pg_roles
                                     WHERE rolname IN ('livepanty_app', 'livepanty_service', 'livepanty_readonly', 'livepanty_mailer')))
$$, 'application roles get read policies only (writes go through the api functions)');

-- == Functions: EXECUTE, search_path, owner ================================================================
SELECT isnt_empty($$SELECT 1 FROM pg_catalog.pg_proc WHERE pronamespace = 'api'::regnamespace$$,
                  'schema api has functions (the checks below are not vacuous)');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc AS p
     WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace, 'monitoring'::regnamespace)
       AND (p.proacl IS NULL  -- the default ACL lets PUBLIC execute
            OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.proacl) AS a
                        WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
$$, 'no function in lp, api or monitoring is executable by PUBLIC');
-- Owner-only helpers that are not SECURITY DEFINER run inside the owner's functions, under their pinned search
-- path, and may go without a SET clause of their own (a SQL function with one is never inlined).
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc AS p
     WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace, 'monitoring'::regnamespace)
       AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) AS c WHERE c LIKE 'search\_path=%')
       AND (p.prosecdef OR p.proacl IS NULL
            OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.proacl) AS a
                        WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner))
$$, 'every function in lp, api and monitoring that anyone but the owner may call, and every SECURITY DEFINER one, pins its search_path');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text || ' ' || c FROM pg_catalog.pg_proc AS p, unnest(p.proconfig) AS c
     WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace, 'monitoring'::regnamespace) AND p.prosecdef
       AND c LIKE 'search\_path=%'
       AND EXISTS (SELECT 1 FROM regexp_split_to_table(substr(c, 13), ',') AS e
                    WHERE lower(btrim(btrim(e), '"')) IN ('public', '$user'))
$$, 'no SECURITY DEFINER function has public or $user in its search_path');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text || ' ' || c FROM pg_catalog.pg_proc AS p, unnest(p.proconfig) AS c
     WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace, 'monitoring'::regnamespace) AND p.prosecdef
       AND c LIKE 'search\_path=%' AND c NOT IN ('search_path=""', 'search_path=')
       AND btrim((regexp_split_to_array(substr(c, 13), ','))[array_upper(regexp_split_to_array(substr(c, 13), ','), 1)]) <> 'pg_temp'
$$, 'every SECURITY DEFINER function with a non-empty search_path lists pg_temp last (temporary objects cannot shadow ours)');
SELECT is_empty($$
    SELECT DISTINCT btrim(e) || ' (CREATE for ' || coalesce(r.rolname, 'PUBLIC') || ')'
      FROM pg_catalog.pg_proc AS p, unnest(p.proconfig) AS c, regexp_split_to_table(substr(c, 13), ',') AS e
      JOIN pg_catalog.pg_namespace AS n ON n.nspname = btrim(btrim(e), '"')
      CROSS JOIN LATERAL pg_catalog.aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) AS a
      LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace, 'monitoring'::regnamespace) AND c LIKE 'search\_path=%'
       AND a.privilege_type = 'CREATE' AND a.grantee <> n.nspowner
       AND (a.grantee = 0 OR r.rolname IN ('livepanty_app', 'livepanty_service', 'livepanty_readonly', 'livepanty_mailer'))
$$, 'no application role (or PUBLIC) may create objects in a schema on any lp/api/monitoring function''s search_path');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text || ' owned by ' || pg_get_userbyid(p.proowner) FROM pg_catalog.pg_proc AS p
     WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace, 'monitoring'::regnamespace)
       AND p.proowner <> 'livepanty_owner'::regrole
$$, 'every function in lp, api and monitoring is owned by livepanty_owner');

-- == Relations and types: owner, views ====================================================================
SELECT is_empty($$
    SELECT c.oid::regclass::text || ' (' || c.relkind::text || ') owned by ' || pg_get_userbyid(c.relowner)
      FROM pg_catalog.pg_class AS c
     WHERE c.relnamespace IN ('lp'::regnamespace, 'api'::regnamespace, 'reporting'::regnamespace, 'monitoring'::regnamespace)
       AND c.relowner <> 'livepanty_owner'::regrole
$$, 'every table, view, index, sequence and composite type in lp, api, reporting and monitoring is owned by livepanty_owner');
SELECT is_empty($$
    SELECT n.nspname || ' owned by ' || pg_get_userbyid(n.nspowner) FROM pg_catalog.pg_namespace AS n
     WHERE n.nspname IN ('lp', 'api', 'reporting', 'monitoring') AND n.nspowner <> 'livepanty_owner'::regrole
$$, 'schemas lp, api, reporting and monitoring are owned by livepanty_owner');
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_catalog.pg_class AS c
     WHERE c.relkind IN ('v', 'm')
       AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, 'reporting'::regnamespace,
                                  'monitoring'::regnamespace)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d  -- extensions' own views (pgTAP's)
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_options_to_table(c.reloptions) AS o
                        WHERE o.option_name = 'security_invoker' AND o.option_value IN ('true', 'on', '1', 'yes'))
$$, 'every view outside schemas reporting and monitoring is security_invoker (reads follow the reader''s RLS); definer views live there only');

-- == Table privileges ======================================================================================
SELECT is_empty($$
    SELECT r.rolname || ' may ' || priv || ' ' || c.oid::regclass::text
      FROM pg_catalog.pg_class AS c
     CROSS JOIN pg_catalog.pg_roles AS r
     CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS priv
     WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p')
       AND r.rolname IN ('livepanty_app', 'livepanty_service', 'livepanty_readonly', 'livepanty_mailer')
       AND (has_table_privilege(r.oid, c.oid, priv)
            OR (priv IN ('INSERT', 'UPDATE', 'REFERENCES') AND has_any_column_privilege(r.oid, c.oid, priv)))
$$, 'livepanty_app, livepanty_service, livepanty_readonly and livepanty_mailer cannot write any lp table (no INSERT/UPDATE/DELETE/TRUNCATE, not even per column)');
SELECT is_empty($$
    SELECT c.oid::regclass::text || ' ' || a.privilege_type FROM pg_catalog.pg_class AS c
     CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) AS a
     WHERE c.relnamespace IN ('lp'::regnamespace, 'api'::regnamespace, 'reporting'::regnamespace) AND a.grantee = 0
    UNION ALL
    SELECT c.oid::regclass::text || '.' || att.attname || ' ' || a.privilege_type
      FROM pg_catalog.pg_attribute AS att JOIN pg_catalog.pg_class AS c ON c.oid = att.attrelid
     CROSS JOIN LATERAL pg_catalog.aclexplode(att.attacl) AS a
     WHERE c.relnamespace IN ('lp'::regnamespace, 'api'::regnamespace, 'reporting'::regnamespace) AND a.grantee = 0
$$, 'PUBLIC holds no privilege on any table, view or column of lp, api and reporting');
SELECT is_empty($$
    SELECT r.rolname || ' may use ' || c.oid::regclass::text FROM pg_catalog.pg_class AS c
     CROSS JOIN pg_catalog.pg_roles AS r
     WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind = 'S'
       AND r.rolname IN ('livepanty_app', 'livepanty_service', 'livepanty_readonly', 'livepanty_mailer')
       AND (has_sequence_privilege(r.oid, c.oid, 'USAGE') OR has_sequence_privilege(r.oid, c.oid, 'UPDATE'))
$$, 'application roles cannot draw from lp sequences');

-- == Secret columns ========================================================================================
-- Every role but the owner (its members are the owner) and superusers; predefined pg_* roles such as
-- pg_read_all_data are outside the schema's control and are left out.
SELECT is_empty($$
    SELECT r.rolname || ' may read ' || s.tbl || '.' || s.col
      FROM (VALUES ('lp.users', 'password_hash'), ('lp.auth_sessions', 'token_hash'),
                   ('lp.password_reset_tokens', 'token_hash'), ('lp.streams', 'stream_key_hash'),
                   ('lp.outbox', 'payload')) AS s (tbl, col)
     CROSS JOIN pg_catalog.pg_roles AS r
     WHERE NOT r.rolsuper AND r.rolname !~ '^pg_' AND NOT pg_has_role(r.oid, 'livepanty_owner', 'MEMBER')
       AND has_column_privilege(r.oid, s.tbl::regclass, s.col, 'SELECT')
$$, 'no role but the owner may SELECT users.password_hash, auth_sessions.token_hash, password_reset_tokens.token_hash, streams.stream_key_hash, outbox.payload');
SELECT is_empty($$
    SELECT r.rolname || ' may read ' || c.oid::regclass::text || '.' || a.attname
      FROM pg_catalog.pg_attribute AS a JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
     CROSS JOIN pg_catalog.pg_roles AS r
     WHERE c.relnamespace = 'lp'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attname ~ '(password|secret|token_hash|key_hash|_encrypted$)'
       AND a.attname <> 'password_changed_at'
       AND NOT r.rolsuper AND r.rolname !~ '^pg_' AND NOT pg_has_role(r.oid, 'livepanty_owner', 'MEMBER')
       AND has_column_privilege(r.oid, c.oid, a.attnum, 'SELECT')
$$, 'no role but the owner may SELECT any secret-looking column in lp (password*, *secret*, *token_hash, *key_hash)');

-- == Reporting: pseudonymised views only ====================================================================
SELECT isnt_empty($$SELECT 1 FROM pg_catalog.pg_class WHERE relnamespace = 'reporting'::regnamespace AND relkind = 'v'$$,
                  'schema reporting has views (the checks below are not vacuous)');
SELECT is_empty($$
    SELECT c.oid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
      FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid
     WHERE c.relnamespace = 'reporting'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
       AND (a.atttypid IN ('inet'::regtype, 'cidr'::regtype, 'macaddr'::regtype, 'ext.citext'::regtype, 'uuid'::regtype,
                           'bytea'::regtype)
            OR a.attname ~* '(e_?mail|date_of_birth|birth|(^|_)dob($|_)|(^|_)ip($|_)|ip_addr|(^|_)url($|_)|legal_name|password|(^|_)token($|_)|secret|username|display_name|message|user_agent|details|device_info)')
$$, 'no reporting view exposes an inet, citext, uuid or bytea column, nor one named like e-mail, date of birth, IP, URL, legal name, password, token, username, message or details');
-- docs/reporting.md: every id is a pseudonym (text, 16 hex digits). A bigint id (a ledger entry, a viewing session, an
-- audit row) is as linkable as a uuid: the application shows it to the user (api.wallet_history, their own viewing
-- sessions) and to hosts and admins, so shown raw it would lead a reader from a support ticket to the person.
SELECT is_empty($$
    SELECT c.oid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
      FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid
     WHERE c.relnamespace = 'reporting'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attname ~ '(^id$|_id$|_by$|^assigned_to$)' AND a.atttypid <> 'text'::regtype
$$, 'every id column of a reporting view (id, *_id, *_by, assigned_to) is text, a pseudonym: never the raw uuid or number the application also shows');
SELECT is_empty($$
    SELECT c.oid::regclass::text || (CASE WHEN a.attname IS NULL THEN '' ELSE '.' || a.attname END)
      FROM pg_catalog.pg_class AS c LEFT JOIN pg_catalog.pg_attribute AS a
           ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          AND has_column_privilege('livepanty_readonly', c.oid, a.attnum, 'SELECT')
     WHERE c.relnamespace = 'lp'::regnamespace
       AND (has_table_privilege('livepanty_readonly', c.oid, 'SELECT') OR a.attname IS NOT NULL)
$$, 'livepanty_readonly may SELECT no table of lp, nor any column of one (every lp table holds or links to personal data)');
SELECT ok(NOT has_schema_privilege('livepanty_readonly', 'lp', 'USAGE'),
          'livepanty_readonly has no USAGE on schema lp (it cannot even name an lp object)');
SELECT is_empty($$
    SELECT r.rolname || ' may read ' || c.oid::regclass::text FROM pg_catalog.pg_class AS c
     CROSS JOIN pg_catalog.pg_roles AS r
     WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind = 'v'
       AND r.rolname IN ('livepanty_app', 'livepanty_service')
       AND (has_table_privilege(r.oid, c.oid, 'SELECT') OR has_schema_privilege(r.oid, 'reporting', 'USAGE'))
    UNION ALL
    SELECT 'livepanty_readonly may not read ' || c.oid::regclass::text FROM pg_catalog.pg_class AS c
     WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind = 'v'
       AND NOT (has_table_privilege('livepanty_readonly', c.oid, 'SELECT')
                AND has_schema_privilege('livepanty_readonly', 'reporting', 'USAGE'))
$$, 'livepanty_readonly reads every reporting view; the application and service roles none');
SELECT is_empty($$
    SELECT coalesce(r.rolname, 'PUBLIC') || ' may create in reporting'
      FROM pg_catalog.pg_namespace AS n
     CROSS JOIN LATERAL pg_catalog.aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) AS a
      LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE n.nspname IN ('reporting', 'monitoring') AND a.privilege_type = 'CREATE' AND a.grantee <> n.nspowner
$$, 'nobody but the owner may create objects in schemas reporting and monitoring (a view there would run with the creator''s rights)');
SELECT is_empty($$
    SELECT DISTINCT c.oid::regclass::text || ' calls ' || p.oid::regprocedure::text
      FROM pg_catalog.pg_class AS c
      JOIN pg_catalog.pg_rewrite AS rw ON rw.ev_class = c.oid
      JOIN pg_catalog.pg_depend AS d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                                     AND d.refclassid = 'pg_proc'::regclass
      JOIN pg_catalog.pg_proc AS p ON p.oid = d.refobjid
     WHERE c.relnamespace = 'reporting'::regnamespace
       AND (p.prosecdef OR NOT has_function_privilege('livepanty_readonly', p.oid, 'EXECUTE'))
$$, 'reporting views call no SECURITY DEFINER function (the key stays with the owner) and only functions livepanty_readonly may execute (PostgreSQL checks EXECUTE against the reader)');

-- == What livepanty_readonly may execute ===================================================================
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc AS p
     WHERE p.pronamespace = 'api'::regnamespace
       AND has_function_privilege('livepanty_readonly', p.oid, 'EXECUTE')
       AND p.oid::regprocedure::text NOT IN ('api.current_user_id()', 'api.public_profile(uuid)', 'api.stream_stats(uuid)')
$$, 'livepanty_readonly may execute no api function beyond api.current_user_id, api.public_profile and api.stream_stats');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc AS p
     WHERE p.pronamespace IN ('api'::regnamespace, 'lp'::regnamespace) AND p.provolatile = 'v'
       AND has_function_privilege('livepanty_readonly', p.oid, 'EXECUTE')
$$, 'livepanty_readonly may execute no state-changing (VOLATILE) function');
SELECT is_empty($$
    SELECT r.rolname || ' may execute ' || p.oid::regprocedure::text
      FROM pg_catalog.pg_proc AS p CROSS JOIN pg_catalog.pg_roles AS r
     WHERE p.pronamespace = 'lp'::regnamespace AND p.provolatile = 'v'
       AND r.rolname IN ('livepanty_app', 'livepanty_service', 'livepanty_readonly', 'livepanty_mailer')
       AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
$$, 'no application role may call a state-changing (VOLATILE) private lp function directly');
-- == The mailer (livepanty_mailer): the only role that sees outgoing e-mails, and all it may do =============
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc AS p
     WHERE p.pronamespace IN ('api'::regnamespace, 'lp'::regnamespace)
       AND has_function_privilege('livepanty_mailer', p.oid, 'EXECUTE')
       AND p.oid::regprocedure::text NOT IN ('api.claim_messages(integer,interval)', 'api.mark_message_sent(uuid,integer,text)',
                                             'api.mark_message_failed(uuid,integer,text,boolean)')
$$, 'livepanty_mailer may execute no function beyond api.claim_messages, api.mark_message_sent and api.mark_message_failed');
SELECT is_empty($$
    SELECT r.rolname || ' may execute ' || f.sig
      FROM unnest(ARRAY['api.claim_messages(integer, interval)', 'api.mark_message_sent(uuid, integer, text)',
                        'api.mark_message_failed(uuid, integer, text, boolean)']) AS f (sig)
     CROSS JOIN pg_catalog.pg_roles AS r
     WHERE NOT r.rolsuper AND r.rolname !~ '^pg_' AND r.rolname <> 'livepanty_mailer'
       AND NOT pg_has_role(r.oid, 'livepanty_owner', 'MEMBER') AND NOT pg_has_role(r.oid, 'livepanty_mailer', 'MEMBER')
       AND has_function_privilege(r.oid, f.sig::regprocedure, 'EXECUTE')
$$, 'the mailer functions are executable by livepanty_mailer (and its members) only: not by the application, service or reporting roles');
SELECT is_empty($$
    SELECT r.rolname || ' may read ' || c.oid::regclass::text FROM pg_catalog.pg_class AS c
     CROSS JOIN pg_catalog.pg_roles AS r
     WHERE (c.oid = 'lp.outbox'::regclass AND NOT r.rolsuper AND r.rolname !~ '^pg_'
            AND NOT pg_has_role(r.oid, 'livepanty_owner', 'MEMBER') AND has_any_column_privilege(r.oid, c.oid, 'SELECT'))
        OR (r.rolname = 'livepanty_mailer' AND c.relnamespace = 'lp'::regnamespace
            AND c.relkind IN ('r', 'p', 'v', 'm') AND has_any_column_privilege(r.oid, c.oid, 'SELECT'))
$$, 'no role but the owner reads lp.outbox (not even reporting), and livepanty_mailer reads no lp table at all');
SELECT ok(NOT has_function_privilege('livepanty_app', 'api.create_admin(text, text, text, date, text)', 'EXECUTE')
          AND has_function_privilege('livepanty_service', 'api.create_admin(text, text, text, date, text)', 'EXECUTE'),
          'api.create_admin is for livepanty_service, not for livepanty_app');

-- == The acting user's role in a check ===================================================================
-- lp.current_user_role() is NULL when nobody acts or the acting user was deleted meanwhile (a volatile
-- function reads a new snapshot per statement: a deletion may commit between lp.require_user and the role
-- check). A check written `role <> 'admin'` or `role NOT IN (...)` is then NULL, and an IF with a NULL condition
-- does not raise: the privileged branch runs. Every use in a function must treat NULL as no role.
SELECT isnt_empty($$SELECT 1 FROM pg_catalog.pg_proc AS p
                     WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace)
                       AND p.prosrc ~ 'current_user_role\(\)' AND p.proname <> 'current_user_role'$$,
                  'functions check the acting user''s role (the check below is not vacuous)');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc AS p
     WHERE p.pronamespace IN ('lp'::regnamespace, 'api'::regnamespace) AND p.proname <> 'current_user_role'
       AND regexp_count(p.prosrc, 'current_user_role\(\)')
           <> regexp_count(p.prosrc, 'current_user_role\(\) IS (NOT )?DISTINCT FROM '
                                     || '|coalesce\(lp\.current_user_role\(\), ''''\)'
                                     || '|coalesce\(lp\.current_user_role\(\) IN \([^()]*\), false\)')
$$, 'every role check in a function treats an unknown role (NULL) as none: IS [NOT] DISTINCT FROM, or coalesce');

-- == Who proves an identity, and who reads the keys ========================================================
-- Our functions: every schema but the system's and the test harness's (tests), extension members left out.
CREATE TEMPORARY VIEW our_functions AS
SELECT p.oid, p.oid::regprocedure::text AS sig, p.prosrc
  FROM pg_catalog.pg_proc AS p
 WHERE p.pronamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema', 'tests')
   AND p.pronamespace::regnamespace::text !~ '^pg_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d
                    WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e');
-- docs/CONVENTIONS.md, "Who is acting": only api.authenticate and api.act_as call lp.set_identity on one node
-- (on a shard also shard.act, and on a router its own api.authenticate and api.act_as: tests/py/test_shards.py).
SELECT set_eq($$SELECT f.sig FROM our_functions AS f
                 WHERE f.prosrc ~ 'lp\.set_identity\s*\(' AND f.oid <> 'lp.set_identity(uuid, uuid, text)'::regprocedure$$,
              $$VALUES ('api.authenticate(text)'), ('api.act_as(uuid,text)')$$,
              'only api.authenticate and api.act_as call lp.set_identity');
SELECT is_empty($$
    SELECT coalesce(r.rolname, 'PUBLIC') FROM aclexplode((SELECT p.proacl FROM pg_catalog.pg_proc AS p
                                                       WHERE p.oid = 'lp.set_identity(uuid, uuid, text)'::regprocedure)) AS a
      LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> 'livepanty_owner'::regrole
    UNION ALL
    SELECT r.rolname FROM pg_catalog.pg_roles AS r
     WHERE NOT r.rolsuper AND NOT pg_has_role(r.oid, 'livepanty_owner', 'MEMBER')
       AND has_function_privilege(r.oid, 'lp.set_identity(uuid, uuid, text)', 'EXECUTE')
$$, 'no role but the owner (and its members) may execute lp.set_identity, not PUBLIC');

-- docs/CONVENTIONS.md: lp.secrets keys never leave owner code, no function returns them. The functions that name
-- lp.secrets are exactly these; a new one must be added here after checking that it returns no key:
--   api.current_user_id()                returns the acting user's id; reads 'identity' to recompute the proof
--   lp.set_identity(uuid, uuid, text)    returns nothing; sets the proof (an HMAC keyed by 'identity')
--   lp.begin_scrub()                     returns nothing; sets lp.scrub to an HMAC keyed by 'identity'
--   lp.reject_mutation_unless_scrubbing() trigger; compares lp.scrub with that HMAC
--   lp.staff_label(uuid)                 returns 'role #' and 4 hex digits of an HMAC keyed by 'pseudonym'
--   lp.event_channel(uuid)               returns 'lp_stream_' and 48 hex digits of an HMAC keyed by 'pseudonym'
--   lp.kyc_encrypt(text)                 returns the ciphertext (pgp_sym_encrypt under 'kyc')
--   lp.kyc_decrypt(bytea)                returns the plaintext (owner only; api.kyc_record, compliance officers)
-- Of these only api.current_user_id is granted to anyone but the owner; it returns a uuid.
SELECT set_eq($$SELECT f.sig FROM our_functions AS f WHERE f.prosrc ~ 'lp\.secrets'$$,
              $$VALUES ('api.current_user_id()'), ('lp.set_identity(uuid,uuid,text)'), ('lp.begin_scrub()'),
                       ('lp.reject_mutation_unless_scrubbing()'), ('lp.staff_label(uuid)'), ('lp.event_channel(uuid)'),
                       ('lp.kyc_encrypt(text)'), ('lp.kyc_decrypt(bytea)')$$,
              'the functions that read lp.secrets are the known list (each checked to return no key)');
SELECT set_eq($$SELECT f.sig || ' returns ' || pg_catalog.pg_get_function_result(f.oid)
                  FROM our_functions AS f WHERE f.prosrc ~ 'lp\.secrets'$$,
              $$VALUES ('api.current_user_id() returns uuid'), ('lp.set_identity(uuid,uuid,text) returns void'),
                       ('lp.begin_scrub() returns void'), ('lp.reject_mutation_unless_scrubbing() returns trigger'),
                       ('lp.staff_label(uuid) returns text'), ('lp.event_channel(uuid) returns text'),
                       ('lp.kyc_encrypt(text) returns bytea'), ('lp.kyc_decrypt(bytea) returns text')$$,
              'and they return what the list says (a changed return type is checked again)');
SELECT set_eq($$
    SELECT f.sig || ' to ' || coalesce(r.rolname, 'PUBLIC')
      FROM our_functions AS f CROSS JOIN LATERAL aclexplode((SELECT p.proacl FROM pg_catalog.pg_proc AS p WHERE p.oid = f.oid)) AS a
      LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE f.prosrc ~ 'lp\.secrets' AND a.privilege_type = 'EXECUTE' AND a.grantee <> 'livepanty_owner'::regrole
$$, $$VALUES ('api.current_user_id() to livepanty_app'), ('api.current_user_id() to livepanty_service'),
             ('api.current_user_id() to livepanty_readonly')$$,
   'only api.current_user_id (which returns a user id) of them is granted to an application role');
SELECT is((SELECT count(*) FROM our_functions AS f
            WHERE f.prosrc ~ 'lp\.secrets' AND f.oid::regprocedure::text <> 'api.current_user_id()'
              AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS r
                           WHERE NOT r.rolsuper AND NOT pg_has_role(r.oid, 'livepanty_owner', 'MEMBER')
                             AND has_function_privilege(r.oid, f.oid, 'EXECUTE'))), 0::bigint,
          'no role but the owner may execute the others, through a grant or a membership');

SELECT * FROM finish();
ROLLBACK;
