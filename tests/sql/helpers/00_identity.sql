-- ---------------------------------------------------------------------------------------------------------
-- Shared test helpers for every tests/sql/test_*.sql file that acts as a platform user. tests/conftest.py runs
-- this file (as the superuser, one query) in the migrated template database after CREATE EXTENSION pgtap, so
-- schema "tests" and these functions exist in every clone a test file runs in. Helpers of a single test file
-- stay in that file (created in its transaction and rolled back with it).
--   tests.password()                      the password of every user made by tests.create_user
--   tests.create_user(username, role)     a user through api.register_user / api.create_admin (moderators:
--                                         registered, then promoted directly); call as the superuser. A
--                                         performer also gets an approved identity verification (the KYC gate
--                                         of going live, earning and payouts, as tests.approve_kyc makes it)
--                                         unless p_verified => false
--   tests.user_id(username)               the id of a user (the active one first); works under any role
--   tests.authenticate_as(username, role) for the rest of the transaction act as that platform user (NULL:
--                                         nobody) under a database role (default livepanty_app), like the
--                                         application does: SET LOCAL ROLE + a proven identity (lp.set_identity,
--                                         what api.authenticate calls, without a session row)
--   tests.login_as(username, role, password)
--                                         for the rest of the transaction act as that platform user through a
--                                         real session: api.login (as the superuser, with tests.password()
--                                         unless given), then SET LOCAL ROLE (default livepanty_app) and
--                                         api.authenticate with the new token. What a function that wants a
--                                         recent login (lp.require_recent_login) accepts
--   tests.clear_authentication()          back to the superuser, nobody acting
--   tests.reset_payload(username), tests.reset_token(username)
--                                         what the mailer would get for the user's newest queued reset e-mail
-- pgTAP 1.x grants its bookkeeping temp table and sequences to PUBLIC in plan(), so assertions run fine
-- under livepanty_app / livepanty_readonly as long as plan() ran first (as the superuser). Query strings
-- passed to throws_ok, is_empty, set_eq, ... run under the role in force, which is what an RLS test wants.
-- ---------------------------------------------------------------------------------------------------------
CREATE SCHEMA tests;
GRANT USAGE ON SCHEMA tests TO PUBLIC;

CREATE FUNCTION tests.password() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'Tr0ub4dor&3x' $$;

CREATE FUNCTION tests.create_user(p_username text, p_role text DEFAULT 'viewer', p_verified boolean DEFAULT true)
    RETURNS uuid
    LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    IF p_role = 'admin' THEN
        v_id := (api.create_admin(p_username || '@example.com', p_username, tests.password(), DATE '1990-01-01')).id;
    ELSE
        v_id := (api.register_user(p_username || '@example.com', p_username, tests.password(), DATE '1990-01-01',
                                   CASE WHEN p_role = 'performer' THEN 'performer' ELSE 'viewer' END)).id;
        IF p_role NOT IN ('viewer', 'performer') THEN
            UPDATE lp.users SET role = p_role::lp.user_role WHERE id = v_id;
        END IF;
    END IF;
    IF p_role = 'performer' AND p_verified THEN
        INSERT INTO lp.kyc_verifications (user_id, level, status, document_type, document_country, reviewed_at, expires_at)
        VALUES (v_id, 'identity', 'approved', 'passport', 'DE', now(), now() + interval '1 year');
    END IF;
    RETURN v_id;
END
$$;

CREATE FUNCTION tests.user_id(p_username text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT u.id FROM lp.users AS u WHERE lower(u.username::text) = lower(p_username)
     ORDER BY u.deleted_at IS NULL DESC, u.created_at DESC LIMIT 1
$$;

CREATE FUNCTION tests.authenticate_as(p_username text, p_db_role text DEFAULT 'livepanty_app') RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid := tests.user_id(p_username);
BEGIN
    IF p_username IS NOT NULL AND v_id IS NULL THEN
        RAISE EXCEPTION 'tests.authenticate_as: no user %', p_username;
    END IF;
    PERFORM set_config('role', 'none', true);
    IF v_id IS NULL THEN
        PERFORM tests.clear_authentication();
    ELSE
        PERFORM lp.set_identity(v_id, NULL, 'session');  -- proven, as api.authenticate does (no session row)
    END IF;
    PERFORM set_config('role', p_db_role, true);
    RETURN format('# acting as %s through %s', coalesce(p_username, 'nobody'), p_db_role);
END
$$;

CREATE FUNCTION tests.login_as(p_username text, p_db_role text DEFAULT 'livepanty_app',
                               p_password text DEFAULT tests.password()) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    v_login api.login_result;
BEGIN
    PERFORM tests.clear_authentication();
    v_login := api.login(p_username, p_password);
    IF NOT v_login.success THEN
        RAISE EXCEPTION 'tests.login_as: % cannot log in (%)', p_username, v_login.error_code;
    END IF;
    PERFORM set_config('role', p_db_role, true);
    PERFORM api.authenticate(v_login.token);
    RETURN format('# logged in as %s through %s', p_username, p_db_role);
END
$$;

CREATE FUNCTION tests.clear_authentication() RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('lp.user_id', '', true);
    PERFORM set_config('lp.session_id', '', true);
    PERFORM set_config('lp.acting_via', '', true);
    PERFORM set_config('lp.identity_proof', '', true);
    PERFORM set_config('role', 'none', true);
    RETURN '# back to the superuser, nobody acting';
END
$$;

-- Password reset tokens now reach only the mailer (lp.outbox); tests read them as the superuser:
--   tests.reset_payload(username)  the payload (token, expires_at, ...) of the user's newest password reset
--                                  e-mail still queued, or NULL; works under any role
--   tests.reset_token(username)    its token
CREATE FUNCTION tests.reset_payload(p_username text) RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT o.payload FROM lp.outbox AS o
     WHERE o.user_id = tests.user_id(p_username) AND o.kind = 'password_reset' AND o.status = 'queued'
     ORDER BY o.created_at DESC, o.id DESC LIMIT 1
$$;
CREATE FUNCTION tests.reset_token(p_username text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT tests.reset_payload(p_username) ->> 'token'
$$;
