-- Shared scratch stores (loaded into the template database after 00_identity.sql; see tests/conftest.py).
-- Tables are empty in the template; a test file's rows are rolled back with its transaction.
--   tests.put(key, row) / tests.get(key, field) / tests.pid(key)
--                           jsonb store (tests.ctx) for rows returned under other roles; pid: the row's id
--                           (a test file may add its own overload, e.g. tests.get(key) returning the whole jsonb)
--   tests.remember(name, id) / tests.id(name)
--                           a name -> uuid store (tests.ids), SECURITY DEFINER (usable under any role)
-- tests.remember returns nothing on purpose: a top-level SELECT printing a uuid that starts with "1" and a
-- digit in its fourth character would be read as a TAP plan line (tappy matches ^1..N with unescaped dots).
CREATE TABLE tests.ctx (key text PRIMARY KEY, value jsonb NOT NULL);
GRANT ALL ON tests.ctx TO PUBLIC;
CREATE FUNCTION tests.put(p_key text, p_value anyelement) RETURNS text LANGUAGE sql AS $$
    INSERT INTO tests.ctx VALUES (p_key, to_jsonb(p_value)) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
    RETURNING '# ' || key
$$;
CREATE FUNCTION tests.get(p_key text, p_field text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT value ->> p_field FROM tests.ctx WHERE key = p_key
$$;
CREATE FUNCTION tests.pid(p_key text) RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT (value ->> 'id')::uuid FROM tests.ctx WHERE key = p_key
$$;
CREATE TABLE tests.ids (name text PRIMARY KEY, id uuid NOT NULL);
GRANT ALL ON tests.ids TO PUBLIC;
CREATE FUNCTION tests.remember(p_name text, p_id uuid) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
    INSERT INTO tests.ids (name, id) VALUES (p_name, p_id)
$$;
CREATE FUNCTION tests.id(p_name text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT id FROM tests.ids WHERE name = p_name
$$;
