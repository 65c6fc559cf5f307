-- Catalog scans of the project's own code (loaded into the template database after 20_money.sql; see
-- tests/conftest.py), shared by tests/sql/test_one_writer.sql (one node) and tests/py/test_one_writer_shard.py
-- (a shard: the same scans after db/shard/shard.sql).
--   tests.own_functions()      every function and procedure the project owns: in a schema livepanty_owner owns
--                              (lp, api, reporting, monitoring, lp_partitions, shard, router, ...) or owned by
--                              livepanty_owner wherever it is, not an extension's; its body in lower case
--                              (a BEGIN ATOMIC body deparsed) without -- comments
--   tests.money_writes()       each statement written in a body (a literal string included, so a format string
--                              of dynamic SQL too) that writes money state: INSERT, UPDATE, DELETE, MERGE, COPY
--                              or TRUNCATE naming lp.ledger (or a partition of it, lp_partitions.ledger_*),
--                              lp.wallets or lp.wallet_shards; quoted or ONLY spellings included
--   tests.dynamic_statements() each dynamic statement (PL/pgSQL EXECUTE, RETURN QUERY EXECUTE, OPEN ... FOR
--                              EXECUTE): the start of its format string or literal (45 characters, blanks
--                              collapsed), or 'not a literal: <expression>' when the text is built otherwise
--   tests.other_dynamic_sql()  every other way a body runs SQL text or moves rows in bulk: COPY, the *_to_xml
--                              query functions, ts_stat, dblink
--   tests.writable_views()     every view of a schema the project owns that a statement could write through
--                              (automatically updatable, an INSTEAD OF trigger, or a rule), and every rule on a
--                              table the project owns; reaches_money: the relation is, or reads (through other
--                              views too), lp.ledger or a partition of it, lp.wallets or lp.wallet_shards
CREATE FUNCTION tests.own_functions() RETURNS TABLE (fn text, src text)
    LANGUAGE sql STABLE AS $$
    SELECT p.oid::regprocedure::text,
           pg_catalog.regexp_replace(pg_catalog.lower(coalesce(pg_catalog.pg_get_function_sqlbody(p.oid), p.prosrc)),
                                     '--[^\n]*', '', 'g')
      FROM pg_catalog.pg_proc AS p
      JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
     WHERE (n.nspowner = 'livepanty_owner'::regrole OR p.proowner = 'livepanty_owner'::regrole)
       AND p.prokind IN ('f', 'p')
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d
                        WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
$$;

CREATE FUNCTION tests.money_writes() RETURNS TABLE (fn text, verb text, target text)
    LANGUAGE sql STABLE AS $$
    SELECT f.fn, pg_catalog.regexp_replace(m[1], '\s+', ' ', 'g'),
           CASE WHEN m[3] ~ 'lp_partitions' THEN 'lp.ledger (a partition)'
                ELSE 'lp.' || pg_catalog.regexp_replace(m[3], '^"?lp"?\s*\.\s*"?|"$', '', 'g') END
      FROM tests.own_functions() AS f,
           pg_catalog.regexp_matches(f.src,
               '\m(insert\s+into|update|delete\s+from|merge\s+into|copy|truncate(\s+table)?)\s+(?:only\s+)?'
               '("?lp"?\s*\.\s*"?(?:ledger|wallets|wallet_shards)\M"?|"?lp_partitions"?\s*\.\s*"?ledger_\w*"?)',
               'g') AS m
$$;

CREATE FUNCTION tests.dynamic_statements() RETURNS TABLE (fn text, statement text)
    LANGUAGE sql STABLE AS $$
    SELECT f.fn,
           pg_catalog.rtrim(CASE WHEN t.tail ~ '^format\s*\(\s*''' THEN
                    left(pg_catalog.regexp_replace(substring(t.tail FROM '^format\s*\(\s*''([^'']*)'), '\s+', ' ', 'g'), 45)
                WHEN t.tail ~ '^format\s*\(\s*\$\w*\$' THEN
                    left(pg_catalog.regexp_replace(substring(t.tail FROM '^format\s*\(\s*\$\w*\$\s*([^$]*)'), '\s+', ' ', 'g'), 45)
                WHEN t.tail ~ '^''' THEN
                    left(pg_catalog.regexp_replace(substring(t.tail FROM '^''([^'']*)'), '\s+', ' ', 'g'), 45)
                ELSE 'not a literal: ' || substring(t.tail FROM '^[^;]{1,40}')
           END)
      FROM tests.own_functions() AS f,
           -- what follows each EXECUTE (the text before the first one dropped)
           pg_catalog.regexp_split_to_table(f.src, '\mexecute\M') WITH ORDINALITY AS s (piece, k),
           LATERAL (SELECT pg_catalog.ltrim(s.piece, E' \t\n\r') AS tail) AS t
     -- EXECUTE FUNCTION of a trigger definition (inside a string) is no dynamic statement
     WHERE s.k > 1 AND t.tail !~ '^(function|procedure)\M'
$$;

CREATE FUNCTION tests.other_dynamic_sql() RETURNS TABLE (fn text, what text)
    LANGUAGE sql STABLE AS $$
    SELECT f.fn, m[1]
      FROM tests.own_functions() AS f,
           pg_catalog.regexp_matches(f.src,
               '(\mcopy\s+(?:\(|[\w".]+\s*(?:\([^)]*\)\s*)?(?:from|to)\M)'
               '|\m(?:query_to_xml\w*|cursor_to_xml\w*|table_to_xml\w*|schema_to_xml\w*|database_to_xml\w*|ts_stat|dblink\w*)\s*\()',
               'g') AS m
$$;

CREATE FUNCTION tests.writable_views() RETURNS TABLE (relation text, why text, reaches_money boolean)
    LANGUAGE sql STABLE AS $$
    WITH RECURSIVE reads (view, rel) AS (
        SELECT r.ev_class, d.refobjid
          FROM pg_catalog.pg_rewrite AS r
          JOIN pg_catalog.pg_depend AS d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
                                        AND d.refclassid = 'pg_catalog.pg_class'::regclass
         WHERE r.rulename = '_RETURN' AND d.refobjid <> r.ev_class
        UNION
        SELECT reads.view, d.refobjid
          FROM reads
          JOIN pg_catalog.pg_rewrite AS r ON r.ev_class = reads.rel AND r.rulename = '_RETURN'
          JOIN pg_catalog.pg_depend AS d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
                                        AND d.refclassid = 'pg_catalog.pg_class'::regclass
         WHERE d.refobjid <> r.ev_class
    ), money (rel) AS (
        SELECT unnest(ARRAY['lp.ledger'::regclass, 'lp.wallets'::regclass, 'lp.wallet_shards'::regclass])::oid
        UNION
        SELECT i.inhrelid FROM pg_catalog.pg_inherits AS i WHERE i.inhparent = 'lp.ledger'::regclass
    )
    SELECT c.oid::regclass::text, w.why,
           c.oid IN (SELECT money.rel FROM money)
           OR EXISTS (SELECT 1 FROM reads WHERE reads.view = c.oid AND reads.rel IN (SELECT money.rel FROM money))
      FROM pg_catalog.pg_class AS c
      JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace,
           LATERAL (SELECT 'automatically updatable'
                     WHERE c.relkind = 'v' AND pg_catalog.pg_relation_is_updatable(c.oid, false) <> 0
                    UNION ALL
                    SELECT 'INSTEAD OF trigger ' || t.tgname FROM pg_catalog.pg_trigger AS t
                     WHERE t.tgrelid = c.oid AND c.relkind = 'v' AND (t.tgtype & 64) <> 0
                    UNION ALL
                    SELECT 'rule ' || r.rulename FROM pg_catalog.pg_rewrite AS r
                     WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN') AS w (why)
     WHERE (n.nspowner = 'livepanty_owner'::regrole OR c.relowner = 'livepanty_owner'::regrole)
       AND c.relkind IN ('v', 'r', 'p', 'f')
$$;
