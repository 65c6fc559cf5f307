-- lp.as_uuid: the one test of "this text is a UUID" that the audit-log RLS helpers, api.tip_many's items and the
-- router's routes use. Only the canonical 8-4-4-4-12 spelling is an id (PostgreSQL's uuid input also takes
-- braces, no hyphens and upper case; the helpers compare ids against uuid columns, and a loose spelling of a
-- case or flag id in an audit target must not be taken for it), anything else is NULL and never an error, and
-- the expression is inlined into its callers' plans.
BEGIN;
SELECT plan(12);

SELECT is(lp.as_uuid('0190a5b2-7c1d-7e3f-8a9b-0c1d2e3f4a5b'), '0190a5b2-7c1d-7e3f-8a9b-0c1d2e3f4a5b'::uuid,
          'a canonical lower-case id is that uuid');
SELECT is(lp.as_uuid('0190A5B2-7C1D-7E3F-8A9B-0C1D2E3F4A5B'), '0190a5b2-7c1d-7e3f-8a9b-0c1d2e3f4a5b'::uuid,
          'upper-case hexadecimal is the same uuid');
SELECT is(lp.as_uuid('{0190a5b2-7c1d-7e3f-8a9b-0c1d2e3f4a5b}'), NULL, 'braces (which uuid input accepts) are not an id');
SELECT is(lp.as_uuid('0190a5b27c1d7e3f8a9b0c1d2e3f4a5b'), NULL, 'no hyphens (which uuid input accepts) is not an id');
SELECT is(lp.as_uuid('0190a5b2-7c1d-7e3f-8a9b-0c1d2e3f4a5b' || chr(10)), NULL, 'a trailing newline is not an id');
SELECT is(lp.as_uuid(' 0190a5b2-7c1d-7e3f-8a9b-0c1d2e3f4a5b'), NULL, 'a leading space is not an id');
SELECT is(lp.as_uuid('0190a5b2-7c1d-7e3f-8a9b-0c1d2e3f4a5'), NULL, 'one digit short is not an id');
SELECT is(lp.as_uuid('0190a5b2-7c1d-7e3f-8a9b-0c1d2e3f4a5g'), NULL, 'a non-hexadecimal digit is not an id');
SELECT is(lp.as_uuid(''), NULL, 'the empty string is not an id');
SELECT is(lp.as_uuid(NULL), NULL, 'NULL is NULL');
SELECT lives_ok($$SELECT lp.as_uuid(repeat('x', 100000))$$, 'a long non-id is NULL, not an error');

-- Inlined: the plan holds the regular expression test, not a call of lp.as_uuid.
CREATE TEMP TABLE plan_lines (line text);
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN EXPLAIN (VERBOSE, COSTS OFF) SELECT lp.as_uuid(v.t) FROM (VALUES ('x'), ('y')) AS v (t) LOOP
        INSERT INTO plan_lines VALUES (r."QUERY PLAN");
    END LOOP;
END
$$;
SELECT ok((SELECT bool_or(line LIKE '%CASE WHEN%~%') AND NOT bool_or(line LIKE '%as_uuid%') FROM plan_lines),
          'lp.as_uuid is inlined into its caller''s plan');

SELECT * FROM finish();
ROLLBACK;
