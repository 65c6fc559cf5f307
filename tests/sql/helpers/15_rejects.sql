-- Refusals change nothing: the shared check of every pgTAP file (loaded into the template database after
-- 10_scratch.sql; see tests/conftest.py). Each file that uses it defines tests.state() RETURNS text: the state
-- its refusals must leave as they found it (balances, rows of the tables it exercises, audit counts, ...).
--   tests.rejects(sql, sqlstate, description)
--                     two assertions: the statement raises sqlstate, and tests.state() is what it was before.
--                     A statement that is not refused is rolled back all the same (a failing assertion does not
--                     leave its changes to the assertions after it), and an unexpected error's message is
--                     printed as a diagnostic.
--   tests.snap() / tests.unchanged(description)
--                     remember tests.state() / assert it is still what tests.snap() remembered (one assertion),
--                     for a call that must succeed without changing anything (a replay).
CREATE TABLE tests.snapshot (state text);
GRANT SELECT ON tests.snapshot TO PUBLIC;

CREATE FUNCTION tests.snap() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    DELETE FROM tests.snapshot;
    INSERT INTO tests.snapshot (state) SELECT tests.state();
END
$$;

CREATE FUNCTION tests.unchanged(p_description text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    RETURN is(tests.state(), (SELECT s.state FROM tests.snapshot AS s), p_description);
END
$$;

CREATE FUNCTION tests.rejects(p_sql text, p_sqlstate text, p_description text) RETURNS SETOF text
    LANGUAGE plpgsql AS $$
DECLARE
    v_before  text := tests.state();
    v_after   text;
    v_code    text := 'not refused';
    v_message text;
BEGIN
    BEGIN
        EXECUTE p_sql;
        v_after := tests.state();
        RAISE EXCEPTION USING ERRCODE = 'P0009';  -- roll the statement back: it should not have succeeded
    EXCEPTION
        WHEN SQLSTATE 'P0009' THEN
            NULL;
        WHEN OTHERS THEN
            v_code := SQLSTATE;
            v_message := SQLERRM;
            v_after := tests.state();
    END;
    RETURN NEXT is(v_code, p_sqlstate, p_description);
    IF v_code IS DISTINCT FROM p_sqlstate AND v_message IS NOT NULL THEN
        RETURN NEXT diag('    error: ' || v_message);
    END IF;
    RETURN NEXT is(v_after, v_before, p_description || ': nothing changed');
END
$$;
