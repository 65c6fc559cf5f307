-- The router of a sharded installation (docs/scale-out.md): applied to the router database after its migrations
-- and repeatables by livepanty_db.shards (as the superuser), again on every migrate. The router has the whole
-- schema (its types, its identity secrets), holds no money and no users: its api functions route each call by
-- PL/Proxy to the shard that owns the user. livepanty_db.shards writes the PL/Proxy cluster (the foreign server
-- livepanty) and the generated routes after this file; the hand-written routes below come last.
CREATE EXTENSION IF NOT EXISTS plproxy;
CREATE SCHEMA IF NOT EXISTS router AUTHORIZATION livepanty_owner;
CREATE SCHEMA IF NOT EXISTS router_proxy AUTHORIZATION livepanty_owner;
-- The routes of the api views (livepanty_db.shards.router_view_routes_sql): a view's reader runs its functions
-- with their own rights, so these, and only these, are theirs to run.
CREATE SCHEMA IF NOT EXISTS router_views AUTHORIZATION livepanty_owner;
REVOKE ALL ON SCHEMA router, router_proxy, router_views FROM PUBLIC;
GRANT USAGE ON SCHEMA router_views TO livepanty_app, livepanty_service;

-- The router holds no users and no money: its copies of the tables stay empty, and so would every view over
-- them. The api views are routed: livepanty_db.shards replaces each (after this file) by a view over a route
-- that reads every shard (shards.VIEW_ROUTES); the router's own copies go first, here, since they would
-- depend on the routes this file drops. The reporting views are not routed; they are closed here, so that a
-- reader gets 42501 (permission denied) instead of an empty answer. Read them on the shards
-- (docs/scale-out.md, "Limits"). Again on every install, after the migrations made and granted them.
DO $views$
DECLARE
    v regclass;
BEGIN
    FOR v IN SELECT c.oid::regclass FROM pg_catalog.pg_class AS c
              WHERE c.relnamespace = 'api'::regnamespace AND c.relkind = 'v' LOOP
        EXECUTE format('DROP VIEW %s', v);
    END LOOP;
END
$views$;
REVOKE SELECT ON ALL TABLES IN SCHEMA reporting FROM livepanty_readonly;

SET ROLE livepanty_owner;

-- The directory: who lives where. Usernames in lower case; e-mail addresses only as their SHA-256 (the router
-- never holds the address itself), for the login by e-mail.
CREATE TABLE IF NOT EXISTS router.config (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    shard_count smallint NOT NULL CHECK (shard_count IN (1, 2, 4, 8, 16, 32, 64))
);
ALTER TABLE router.config ADD COLUMN IF NOT EXISTS deliver_at_once boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN router.config.deliver_at_once IS 'Cross-shard tips, captures and sanctions: the router''s api.tip (and api.tip_many, api.capture_hold) also applies the credit on the payee''s shard and marks it delivered before it returns (router.deliver_now), and its api.resolve_case the sanction decided for a user of another shard (router.deliver_sanction_now), as the relay would; the relay stays the way everything arrives in the end (what the router could not apply waits for it). false (the default): the relay alone. Set with livepanty-db shards delivery.';
CREATE TABLE IF NOT EXISTS router.users (
    user_id      uuid PRIMARY KEY,
    shard        smallint NOT NULL CHECK (shard >= 0),
    username_key text NOT NULL UNIQUE,
    email_key    bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- The username as registered and the platform role the home shard last reported (api.authenticate): what a
-- stub on another shard carries (shard.ensure_user).
ALTER TABLE router.users ADD COLUMN IF NOT EXISTS username text, ADD COLUMN IF NOT EXISTS role text;
CREATE TABLE IF NOT EXISTS router.stubs (
    user_id uuid NOT NULL,
    shard   smallint NOT NULL CHECK (shard >= 0),
    role    text NOT NULL,
    PRIMARY KEY (user_id, shard)
);
-- role NULL: a stub of the user may be on that shard with a role that is no longer theirs (a role change the
-- router could not carry there, or one their home shard reported): router.ensure_user brings it up to date
-- before the user's next call there, the payee check of a cross-shard tip or hold included.
ALTER TABLE router.stubs ALTER COLUMN role DROP NOT NULL;
COMMENT ON TABLE router.stubs IS 'The stubs the router made of users on shards other than their own (shard.ensure_user), with the role they carry: a stub is made again when the role changed. A row whose role is NULL marks a shard where a stub of the user may carry an outdated role (a role change not carried there): brought up to date before the user acts there, a cross-shard payee check included.';
CREATE TABLE IF NOT EXISTS router.erasure_sync (
    shard        smallint PRIMARY KEY CHECK (shard >= 0),
    synced_until timestamptz NOT NULL
);
COMMENT ON TABLE router.erasure_sync IS 'Per shard, the latest erasure there that livepanty-db shards sync-erasures carried to the directory and to the stubs on every other shard (each run also looks an hour further back).';
CREATE TABLE IF NOT EXISTS router.sessions (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL,
    shard      smallint NOT NULL CHECK (shard >= 0),
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires_idx ON router.sessions (expires_at);
COMMENT ON TABLE router.users IS 'The directory of a sharded installation: the shard of every user, found by id, by lower-case username or by the SHA-256 of the lower-case e-mail address (the address itself stays on the shard).';
COMMENT ON TABLE router.sessions IS 'Which shard a session token (by its SHA-256) belongs to: written by the router''s api.login, read by its api.authenticate.';
-- The shards' own conninfos, and which are fenced: a fenced shard's partition in the PL/Proxy cluster names a
-- socket that does not exist, so every call for it fails at once (LP200) instead of waiting for a shard that
-- hangs (docs/scale-out.md, "Fencing a shard that hangs"). Written by livepanty_db.shards (install, fence,
-- unfence, watch) as the superuser, who owns the foreign server.
CREATE TABLE IF NOT EXISTS router.partitions (
    shard        smallint PRIMARY KEY CHECK (shard >= 0),
    conninfo     text NOT NULL,
    fenced_at    timestamptz,
    fenced_by    text CHECK (fenced_by IN ('operator', 'watch')),
    fence_reason text CHECK (char_length(fence_reason) <= 500),
    CHECK ((fenced_at IS NULL) = (fenced_by IS NULL))
);
COMMENT ON TABLE router.partitions IS 'Per shard: its conninfo as the router''s PL/Proxy cluster reaches it (as livepanty_router), and whether it is fenced (since when, by whom: an operator, or livepanty-db shards watch when it did not answer within its timeout; why). A fenced shard''s partition names no server: calls for it fail at once with LP200.';
ALTER TABLE router.partitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE router.partitions FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS "router code only" ON router.partitions;
CREATE POLICY "router code only" ON router.partitions FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
ALTER TABLE router.config ENABLE ROW LEVEL SECURITY;
ALTER TABLE router.config FORCE ROW LEVEL SECURITY;
ALTER TABLE router.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE router.users FORCE ROW LEVEL SECURITY;
ALTER TABLE router.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE router.stubs ENABLE ROW LEVEL SECURITY;
ALTER TABLE router.stubs FORCE ROW LEVEL SECURITY;
ALTER TABLE router.sessions FORCE ROW LEVEL SECURITY;
ALTER TABLE router.erasure_sync ENABLE ROW LEVEL SECURITY;
ALTER TABLE router.erasure_sync FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS "router code only" ON router.config;
DROP POLICY IF EXISTS "router code only" ON router.users;
DROP POLICY IF EXISTS "router code only" ON router.sessions;
DROP POLICY IF EXISTS "router code only" ON router.stubs;
DROP POLICY IF EXISTS "router code only" ON router.erasure_sync;
CREATE POLICY "router code only" ON router.config FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "router code only" ON router.users FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "router code only" ON router.sessions FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "router code only" ON router.stubs FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "router code only" ON router.erasure_sync FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);

-- Key spaces one node keeps installation-wide, claimed on the router (docs/scale-out.md, "One key space across
-- shards"): written in the router's transaction before the routed call, so a concurrent claim of the same key
-- waits for it, and rolled back with the call's error. A claim names the shard that holds what the key made.
CREATE TABLE IF NOT EXISTS router.adjustment_keys (
    idempotency_key text PRIMARY KEY CHECK (char_length(idempotency_key) <= 128),
    shard           smallint NOT NULL CHECK (shard >= 0),
    user_id         uuid,
    amount          bigint,
    claimed_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE router.adjustment_keys IS 'The idempotency keys of api.adjust_balance through the router (trimmed, as the shards store them), one key space for every shard as on one node: the shard the key''s adjustment went to, and the user and amount it named (the reason, free text, stays on the shard). A later call with the key goes to that shard, which replays it or refuses other arguments (LP106).';
CREATE TABLE IF NOT EXISTS router.kyc_events (
    provider   text NOT NULL CHECK (char_length(provider) <= 32),
    event_id   text NOT NULL CHECK (char_length(event_id) <= 200),
    shard      smallint CHECK (shard >= 0),
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);
COMMENT ON TABLE router.kyc_events IS 'The provider events api.apply_kyc_webhook routed (provider and event id trimmed, as the shards store them), with the shard whose event log holds each: a later delivery of the event id goes there and is answered from its log, whatever reference it names, as on one node. shard is NULL only inside the claiming transaction.';
ALTER TABLE router.adjustment_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE router.adjustment_keys FORCE ROW LEVEL SECURITY;
ALTER TABLE router.kyc_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE router.kyc_events FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS "router code only" ON router.adjustment_keys;
DROP POLICY IF EXISTS "router code only" ON router.kyc_events;
CREATE POLICY "router code only" ON router.adjustment_keys FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);
CREATE POLICY "router code only" ON router.kyc_events FOR ALL TO livepanty_owner USING (true) WITH CHECK (true);

-- Repeatable: every function of the three schemas goes first (the proxies and the views' routes are generated
-- again after this file).
DO $drop$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc AS p
              WHERE p.pronamespace IN ('router'::regnamespace, 'router_proxy'::regnamespace,
                                       'router_views'::regnamespace) LOOP
        EXECUTE format('DROP FUNCTION %s', f);
    END LOOP;
END
$drop$;

CREATE FUNCTION router.shard_count() RETURNS smallint
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.shard_count FROM router.config AS c
$$;
COMMENT ON FUNCTION router.shard_count() IS 'How many shards the installation has.';
REVOKE ALL ON FUNCTION router.shard_count() FROM PUBLIC;

CREATE FUNCTION router.deliver_at_once() RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT c.deliver_at_once FROM router.config AS c), false)
$$;
COMMENT ON FUNCTION router.deliver_at_once() IS 'Whether the router applies a cross-shard tip''s credit before api.tip returns (router.config.deliver_at_once).';
REVOKE ALL ON FUNCTION router.deliver_at_once() FROM PUBLIC;

CREATE FUNCTION router.shard_of(p_user_id uuid) RETURNS integer
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_shard smallint;
BEGIN
    SELECT u.shard INTO v_shard FROM router.users AS u WHERE u.user_id = p_user_id;
    IF v_shard IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'the router does not know where this user lives',
            DETAIL = format('user %s is not in the directory', p_user_id);
    END IF;
    RETURN v_shard;
END
$$;
COMMENT ON FUNCTION router.shard_of(uuid) IS 'The shard of a user, from the directory; LP201 for a user it does not know (the router never guesses).';
REVOKE ALL ON FUNCTION router.shard_of(uuid) FROM PUBLIC;

CREATE FUNCTION router.place(p_username text) RETURNS integer
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- By a hash of the username as the shards store it (lp.normalize_username: trimmed; compared without
    -- case): two registrations of one name, however spaced or cased, meet on one shard, whose unique index
    -- decides between them.
    SELECT (hashtext(lower(btrim(p_username))) & 2147483647) % router.shard_count()
$$;
COMMENT ON FUNCTION router.place(text) IS 'The shard a new user is placed on: a hash of the trimmed, lower-case username (the shards'' normalisation, lp.normalize_username) modulo the number of shards.';
REVOKE ALL ON FUNCTION router.place(text) FROM PUBLIC;

CREATE FUNCTION router.directory_check(p_email text, p_username text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- A name or address the directory already holds is refused before any shard is asked, with a single node's
-- codes (the shard that would register it may not hold the other user).
BEGIN
    IF EXISTS (SELECT 1 FROM router.users AS u
                WHERE u.email_key = sha256(convert_to(lower(btrim(p_email)), 'UTF8'))) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP015', MESSAGE = 'email address is already registered';
    END IF;
    IF EXISTS (SELECT 1 FROM router.users AS u WHERE u.username_key = lower(btrim(p_username))) THEN
        RAISE EXCEPTION USING ERRCODE = 'LP016', MESSAGE = 'username is already taken';
    END IF;
END
$$;
COMMENT ON FUNCTION router.directory_check(text, text) IS 'LP015 / LP016 when the directory already holds the address (by its hash) or the username: the registration routes ask it first.';
REVOKE ALL ON FUNCTION router.directory_check(text, text) FROM PUBLIC;

CREATE FUNCTION router.directory_add(p_user api.user_account, p_shard integer) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- A concurrent registration of the same address (or, placed by another rule before, the same name) on another
-- shard waits here on the unique index and then fails (LP015, LP016); its shard's row is left to livepanty-db
-- shards adopt-orphans.
DECLARE
    v_constraint text;
BEGIN
    INSERT INTO router.users (user_id, shard, username_key, email_key, username, role)
    VALUES (p_user.id, p_shard, lower(p_user.username), sha256(convert_to(lower(p_user.email), 'UTF8')),
            p_user.username, p_user.role);
EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
    IF v_constraint = 'users_username_key_key' THEN
        RAISE EXCEPTION USING ERRCODE = 'LP016', MESSAGE = 'username is already taken',
            DETAIL = 'registered concurrently on another shard';
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'LP015', MESSAGE = 'email address is already registered',
        DETAIL = 'registered concurrently on another shard';
END
$$;
COMMENT ON FUNCTION router.directory_add(api.user_account, integer) IS 'Records a user just registered on a shard in the directory (LP015 when another shard registered the address at the same time, LP016 the username).';
REVOKE ALL ON FUNCTION router.directory_add(api.user_account, integer) FROM PUBLIC;

CREATE FUNCTION router.merge_limit(p_limit integer) RETURNS integer
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- A merged listing cuts the shards' pages to p_limit; a limit the shards refuse (0, negative, NULL) must
    -- still reach them, so that they refuse it in the single node's words: LIMIT 0 would not run the proxy.
    SELECT CASE WHEN p_limit > 0 THEN p_limit END
$$;
COMMENT ON FUNCTION router.merge_limit(integer) IS 'The LIMIT of a merged listing: p_limit when it is positive, else none (the shards refuse the limit themselves).';
REVOKE ALL ON FUNCTION router.merge_limit(integer) FROM PUBLIC;

CREATE FUNCTION router.note_replay(p_note text) RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
AS $$
    -- The shard's replay note (lp.note_replay: livepanty.replayed, '<function>:<key>') set again in the
    -- router's transaction, where the client reads it in the same statement: a routed money call that was
    -- answered from its idempotency key is flagged as on one node.
    SELECT pg_catalog.set_config('livepanty.replayed', p_note, true) WHERE p_note IS NOT NULL
$$;
COMMENT ON FUNCTION router.note_replay(text) IS 'Sets livepanty.replayed in the router''s transaction to the replay note a shard returned with a money call''s result (nothing when the call did the work).';
REVOKE ALL ON FUNCTION router.note_replay(text) FROM PUBLIC;

CREATE FUNCTION router.caller_role() RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- As lp.verify_authorize: the role setting of the caller, or its login role.
    SELECT CASE WHEN pg_catalog.pg_has_role(CASE WHEN pg_catalog.current_setting('role') = 'none' THEN session_user::text
                                                 ELSE pg_catalog.current_setting('role') END,
                                            'livepanty_service', 'USAGE')
                THEN 'livepanty_service'
                WHEN pg_catalog.pg_has_role(CASE WHEN pg_catalog.current_setting('role') = 'none' THEN session_user::text
                                                 ELSE pg_catalog.current_setting('role') END,
                                            'livepanty_mailer', 'USAGE')
                THEN 'livepanty_mailer' ELSE 'livepanty_app' END
$$;
COMMENT ON FUNCTION router.caller_role() IS 'livepanty_service when the router''s caller has that role, else livepanty_mailer when it has that one (the mailer), else livepanty_app: the role a routed call runs as on its shard.';
REVOKE ALL ON FUNCTION router.caller_role() FROM PUBLIC;

CREATE FUNCTION router.acting_user() RETURNS uuid
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, ext, pg_temp
AS $$
DECLARE
    v_user uuid := api.current_user_id();  -- proven (LP005 otherwise): set by the router's api.authenticate
BEGIN
    IF v_user IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LP001', MESSAGE = 'no user is acting in this transaction',
            HINT = 'Call api.authenticate(token) or set lp.user_id for the transaction first.';
    END IF;
    RETURN v_user;
END
$$;
COMMENT ON FUNCTION router.acting_user() IS 'The proven acting user of the router''s transaction (LP001 nobody, LP005 not proven); the shard checks the rest (role, existence).';
REVOKE ALL ON FUNCTION router.acting_user() FROM PUBLIC;

CREATE FUNCTION router.lost(p_state text, p_message text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- PL/Proxy could not reach a shard (its own error, XX000, "PL/Proxy ..."), or the shard dropped the
    -- connection: shut down or restarted since PL/Proxy last used it (57P01..57P03), or the link failed (08xxx).
    SELECT (p_state = 'XX000' AND p_message LIKE 'PL/Proxy%') OR p_state IN ('57P01', '57P02', '57P03')
           OR (p_state LIKE '08%' AND p_state <> '08P01')  -- 08P01, a protocol violation: a bug, not an outage
$$;
COMMENT ON FUNCTION router.lost(text, text) IS 'Whether an error of a PL/Proxy call means the shard was not reached or the connection was lost (PL/Proxy''s own XX000, 57P01..57P03 from a shard shutting down, class 08 but 08P01): the routes raise LP200 for it.';
REVOKE ALL ON FUNCTION router.lost(text, text) FROM PUBLIC;

CREATE FUNCTION router.down_shard() RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
-- The first shard PL/Proxy cannot reach now, asked of each shard on its own (a lookup of nothing): names the
-- shard of an error of a call sent to every shard at once (RUN ON ALL), whose message names only its address.
-- NULL when every shard answers again. Runs only on that error's path.
BEGIN
    FOR v_shard IN 0 .. router.shard_count() - 1 LOOP
        BEGIN
            PERFORM router_proxy.locate_on(v_shard, 'payments', NULL);
        EXCEPTION WHEN OTHERS THEN
            IF router.lost(SQLSTATE, SQLERRM) THEN
                RETURN v_shard;
            END IF;
            RETURN NULL;  -- it answers, with an error of its own: not for this LP200 to hide
        END;
    END LOOP;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION router.down_shard() IS 'The first shard PL/Proxy cannot reach now (each asked on its own), NULL when all answer: router.unavailable names it for a call sent to every shard.';
REVOKE ALL ON FUNCTION router.down_shard() FROM PUBLIC;

CREATE FUNCTION router.unavailable(p_shard integer, p_message text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- A call sent to every shard (p_shard NULL): the shard that does not answer, asked again one by one.
    v_shard text := coalesce(p_shard, router.down_shard())::text;
BEGIN
    -- PL/Proxy's words name the shard's host, port and database: for the operators (the router's server log),
    -- not for the application, which learns only which shard.
    RAISE LOG 'livepanty router: shard % unavailable: %', coalesce(v_shard, 'all'), left(p_message, 1000);
    RAISE EXCEPTION USING ERRCODE = 'LP200', MESSAGE = 'a shard is unavailable',
        DETAIL = format('shard %s', coalesce(v_shard, 'all')),
        HINT = 'Nothing happened on that shard; retry later (money calls with the same idempotency key).';
END
$$;
COMMENT ON FUNCTION router.unavailable(integer, text) IS 'Raises LP200 for a shard PL/Proxy could not reach (DETAIL: which shard; for a call sent to every shard, the first that does not answer when asked again alone, router.down_shard, or "all" when by then every one answers); PL/Proxy''s message, which names the shard''s address, goes to the router''s server log only.';
REVOKE ALL ON FUNCTION router.unavailable(integer, text) FROM PUBLIC;

CREATE FUNCTION router.shard_words(p_message text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT regexp_replace(p_message, '^[[:alnum:]_.]+\(\d+\): \[[^]]*\] REMOTE [A-Z]+: ', '')
$$;
COMMENT ON FUNCTION router.shard_words(text) IS 'A shard''s error message as the shard raised it: without the prefix PL/Proxy adds (''<proxy>(<n>): [<database>] REMOTE ERROR: ''), which names the shard''s database.';
REVOKE ALL ON FUNCTION router.shard_words(text) FROM PUBLIC;

CREATE FUNCTION router.reraise(p_shard integer, p_state text, p_message text, p_detail text, p_hint text)
RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
-- Every route's error handler. PL/Proxy could not reach the shard, or lost its connection (router.lost): LP200
-- (router.unavailable). Any other error,
-- a shard's own above all, is raised again with its SQLSTATE but without what PL/Proxy adds to a remote error
-- ('<proxy>(<n>): [<database>] REMOTE ERROR: ', 'Remote detail: ', 'Remote hint: '): the caller reads the
-- single node's words, and no shard's database name.
DECLARE
    v_message text := router.shard_words(p_message);
    v_detail  text := regexp_replace(p_detail, '^Remote detail: ', '');
    v_hint    text := regexp_replace(p_hint, '^Remote hint: ', '');
BEGIN
    IF router.lost(p_state, p_message) THEN
        PERFORM router.unavailable(p_shard, p_message);
    END IF;
    v_detail := nullif(v_detail, '');
    v_hint := nullif(v_hint, '');
    IF v_detail IS NULL AND v_hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = p_state, MESSAGE = v_message;
    ELSIF v_hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = p_state, MESSAGE = v_message, DETAIL = v_detail;
    ELSIF v_detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = p_state, MESSAGE = v_message, HINT = v_hint;
    ELSE
        RAISE EXCEPTION USING ERRCODE = p_state, MESSAGE = v_message, DETAIL = v_detail, HINT = v_hint;
    END IF;
END
$$;
COMMENT ON FUNCTION router.reraise(integer, text, text, text, text) IS 'The error handler of every route: LP200 when PL/Proxy could not reach the shard or lost its connection to it (router.lost), else the error again with its SQLSTATE, message, detail and hint as the shard raised them (PL/Proxy''s prefixes, which name the shard''s database, removed).';
REVOKE ALL ON FUNCTION router.reraise(integer, text, text, text, text) FROM PUBLIC;

CREATE FUNCTION router.find(p_table text, p_id uuid) RETURNS integer
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
-- Which shard holds an object (payments, payouts, holds, verifications, streams, sessions, ...): asked of every
-- shard at once. NULL when no shard holds it (or the id is NULL): the callers below say where such a call goes.
-- When a shard cannot be reached, each shard is asked on its own: an object found on a shard that answers goes
-- there (a shard that is down fails the calls on its own objects, not on the others'); found on none of them,
-- the call fails with LP200 for the shard that did not answer, which may hold it (the router never guesses).
DECLARE
    v_found integer[];
    v_down  integer;
    v_why   text;
BEGIN
    IF p_id IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        SELECT array_agg(l.s) INTO v_found FROM router_proxy.locate(p_table, p_id) AS l (s);
    EXCEPTION WHEN OTHERS THEN
        IF NOT router.lost(SQLSTATE, SQLERRM) THEN
            RAISE;
        END IF;
        v_found := NULL;
        FOR v_shard IN 0 .. router.shard_count() - 1 LOOP
            BEGIN
                v_found := v_found || ARRAY(SELECT l.s FROM router_proxy.locate_on(v_shard, p_table, p_id) AS l (s));
            EXCEPTION WHEN OTHERS THEN
                IF NOT router.lost(SQLSTATE, SQLERRM) THEN
                    RAISE;
                END IF;
                v_down := coalesce(v_down, v_shard);
                v_why := coalesce(v_why, SQLERRM);
            END;
        END LOOP;
        IF cardinality(v_found) IS DISTINCT FROM 1 AND v_down IS NOT NULL THEN
            PERFORM router.unavailable(v_down, v_why);
        END IF;
    END;
    IF cardinality(v_found) > 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'LP201', MESSAGE = 'more than one shard holds this object',
            DETAIL = format('%s %s on shards %s', p_table, p_id, v_found);
    END IF;
    RETURN v_found[1];
END
$$;
COMMENT ON FUNCTION router.find(text, uuid) IS 'The shard holding object p_id of lp.<p_table> (shard.locate on every shard); NULL when none does or p_id is NULL; LP201 when two do. With a shard unreachable: the shard of those that answer that holds it, else LP200 for the one that did not answer.';
REVOKE ALL ON FUNCTION router.find(text, uuid) FROM PUBLIC;

CREATE FUNCTION router.locate(p_table text, p_id uuid) RETURNS integer
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- An object no shard holds (or a NULL id) goes to shard 0, whose api function answers "not found" in its own
    -- words.
    SELECT coalesce(router.find(p_table, p_id), 0)
$$;
COMMENT ON FUNCTION router.locate(text, uuid) IS 'The shard holding object p_id of lp.<p_table> (router.find); 0 when none does (that shard then says not found); LP201 when two do.';
REVOKE ALL ON FUNCTION router.locate(text, uuid) FROM PUBLIC;

CREATE FUNCTION router.locate_or_actor(p_table text, p_id uuid) RETURNS integer
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- An object a user names for themselves or, as staff, for another (a session, a payment, a stream): the shard
    -- that holds it; when the call names none (their own current one) or no shard holds it, the acting user's
    -- shard, which answers as one node does.
    SELECT coalesce(router.find(p_table, p_id), router.shard_of(router.acting_user()))
$$;
COMMENT ON FUNCTION router.locate_or_actor(text, uuid) IS 'The shard holding object p_id of lp.<p_table> (router.find); the acting user''s shard when p_id is NULL or no shard holds it (LP001 nobody acting); LP201 when two do.';
REVOKE ALL ON FUNCTION router.locate_or_actor(text, uuid) FROM PUBLIC;

CREATE FUNCTION router.note_role(p_user_id uuid, p_role text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
-- The home shard reported the user's role (api.authenticate, api.act_as, a cross-shard tip of api.tip_many):
-- the directory follows it. When it changed, no stub of theirs is vouched for any more: every other shard is
-- marked in router.stubs (role NULL; a stub the relay made there is not recorded, so every shard is), and each
-- stub is made current (router.ensure_user) before their next call there. A stub whose role update was rolled
-- back on the router (a call that failed after it) is caught so too.
DECLARE
    v_home smallint;
BEGIN
    UPDATE router.users AS u SET role = p_role WHERE u.user_id = p_user_id AND u.role IS DISTINCT FROM p_role
    RETURNING u.shard INTO v_home;
    IF FOUND THEN
        INSERT INTO router.stubs (user_id, shard, role)
        SELECT p_user_id, k, NULL FROM generate_series(0, router.shard_count() - 1) AS k WHERE k <> v_home
        ON CONFLICT (user_id, shard) DO UPDATE SET role = NULL;
    END IF;
END
$$;
COMMENT ON FUNCTION router.note_role(uuid, text) IS 'The directory takes the role the user''s home shard reported; when it changed, every other shard is marked in router.stubs (role NULL), so that every stub of theirs is brought up to date (router.ensure_user) before they act there again, a cross-shard payee check included.';
REVOKE ALL ON FUNCTION router.note_role(uuid, text) FROM PUBLIC;

CREATE FUNCTION router.stub_needed(p_shard integer, p_user_id uuid) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM router.users AS u
                    WHERE u.user_id = p_user_id AND u.shard <> p_shard
                      AND NOT EXISTS (SELECT 1 FROM router.stubs AS s
                                       WHERE s.user_id = u.user_id AND s.shard = p_shard AND s.role = u.role))
$$;
COMMENT ON FUNCTION router.stub_needed(integer, uuid) IS 'Whether p_user_id lives on another shard than p_shard and has no stub there with their current role yet (what router.ensure_user would make).';
REVOKE ALL ON FUNCTION router.stub_needed(integer, uuid) FROM PUBLIC;

CREATE FUNCTION router.ensure_user(p_shard integer, p_user_id uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
-- Before a call acts on shard p_shard for a user of another shard: their stub there, with the current role.
DECLARE
    v_user router.users;
BEGIN
    IF p_user_id IS NULL OR NOT router.stub_needed(p_shard, p_user_id) THEN
        RETURN;
    END IF;
    SELECT * INTO v_user FROM router.users AS u WHERE u.user_id = p_user_id;
    PERFORM router_proxy.ensure_user(p_shard, p_user_id, v_user.username, v_user.role, v_user.shard);
    INSERT INTO router.stubs (user_id, shard, role) VALUES (p_user_id, p_shard, v_user.role)
    ON CONFLICT (user_id, shard) DO UPDATE SET role = excluded.role;
END
$$;
COMMENT ON FUNCTION router.ensure_user(integer, uuid) IS 'Makes sure a user of another shard has a stub with their current role on shard p_shard (shard.ensure_user, once per user, shard and role).';
REVOKE ALL ON FUNCTION router.ensure_user(integer, uuid) FROM PUBLIC;

CREATE FUNCTION router.ensure_everywhere(p_user_id uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
-- A call that runs on every shard as a user (a moderator's queue): their stub on every other shard.
DECLARE
    v_shard integer;
BEGIN
    FOR v_shard IN 0 .. router.shard_count() - 1 LOOP
        PERFORM router.ensure_user(v_shard, p_user_id);
    END LOOP;
END
$$;
COMMENT ON FUNCTION router.ensure_everywhere(uuid) IS 'Makes sure p_user_id has a stub with their current role on every shard but their own (router.ensure_user on each).';
REVOKE ALL ON FUNCTION router.ensure_everywhere(uuid) FROM PUBLIC;

CREATE FUNCTION router.shard_for(p_user_id uuid, p_actor uuid) RETURNS integer
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    -- The shard of the user a call names (an unknown user: the actor's shard, which answers "not found").
    SELECT coalesce((SELECT u.shard FROM router.users AS u WHERE u.user_id = p_user_id),
                    router.shard_of(coalesce(p_actor, router.acting_user())))
$$;
COMMENT ON FUNCTION router.shard_for(uuid, uuid) IS 'The shard of p_user_id, or, when the directory does not know it (or it is NULL), the shard of the acting user p_actor.';
REVOKE ALL ON FUNCTION router.shard_for(uuid, uuid) FROM PUBLIC;


CREATE FUNCTION router.forget_users(p_user_ids uuid[]) RETURNS integer
    LANGUAGE plpgsql
    SET search_path = pg_catalog, ext, pg_temp
AS $$
-- Users erased on their own shard: the directory keeps where they live, under the pseudonym the erasure gave
-- them there (username and address derived from the id), and forgets their sessions.
DECLARE
    v_n integer;
BEGIN
    UPDATE router.users AS u
       SET username = 'erased_' || left(replace(u.user_id::text, '-', ''), 16),
           username_key = 'erased_' || left(replace(u.user_id::text, '-', ''), 16),
           email_key = sha256(convert_to('erased-' || left(replace(u.user_id::text, '-', ''), 16) || '@erased.invalid',
                                         'UTF8'))
     WHERE u.user_id = ANY (p_user_ids)
       AND u.username_key <> 'erased_' || left(replace(u.user_id::text, '-', ''), 16);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    DELETE FROM router.sessions AS s WHERE s.user_id = ANY (p_user_ids);
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION router.forget_users(uuid[]) IS 'The directory entries of users erased on their own shard take the pseudonym the erasure gave them there (username, address hash), and their sessions are forgotten. Returns the entries changed now (0 when run again).';
REVOKE ALL ON FUNCTION router.forget_users(uuid[]) FROM PUBLIC;

RESET ROLE;
