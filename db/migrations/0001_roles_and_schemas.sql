-- 0001_roles_and_schemas: frozen copy of the canonical definitions as of this migration.

-- from db/schema/00_roles.sql
-- Database roles. Cluster-wide objects, so created only when missing (several databases may share a cluster).
-- Must run as a superuser (or a role with CREATEROLE).
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'livepanty_owner') THEN
        CREATE ROLE livepanty_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'livepanty_app') THEN
        CREATE ROLE livepanty_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'livepanty_service') THEN
        CREATE ROLE livepanty_service NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'livepanty_readonly') THEN
        CREATE ROLE livepanty_readonly NOLOGIN;
    END IF;
END
$roles$;

COMMENT ON ROLE livepanty_owner IS 'Owns every livepanty object; SECURITY DEFINER functions run as this role. NOLOGIN.';
COMMENT ON ROLE livepanty_app IS 'Application role: EXECUTE on the user-facing api functions, SELECT through RLS. Grant it to the login role of the application.';
COMMENT ON ROLE livepanty_service IS 'Back-office role (payment webhooks, payout processing, admin bootstrap): the application role plus service-only functions.';
COMMENT ON ROLE livepanty_readonly IS 'Reporting role: SELECT on every table except secret columns, no writers.';

-- from db/schema/01_schemas.sql
-- Extensions live in their own schema; tables and helpers in the private schema lp; the callable API in api.
CREATE SCHEMA IF NOT EXISTS ext;
COMMENT ON SCHEMA ext IS 'Extensions used by livepanty (citext, pgcrypto).';
CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA ext;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA ext;
GRANT USAGE ON SCHEMA ext TO livepanty_owner, livepanty_app, livepanty_service, livepanty_readonly;

CREATE SCHEMA lp AUTHORIZATION livepanty_owner;
COMMENT ON SCHEMA lp IS 'Private schema: tables, private helpers and trigger functions. Applications read through RLS and write only through api functions.';
CREATE SCHEMA api AUTHORIZATION livepanty_owner;
COMMENT ON SCHEMA api IS 'The callable API: functions and read views. EXECUTE is granted per function.';

-- Nothing the owner creates is executable by PUBLIC unless a file grants it explicitly.
ALTER DEFAULT PRIVILEGES FOR ROLE livepanty_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

SET ROLE livepanty_owner;
GRANT USAGE ON SCHEMA lp TO livepanty_app, livepanty_service, livepanty_readonly;
GRANT USAGE ON SCHEMA api TO livepanty_app, livepanty_service, livepanty_readonly;
RESET ROLE;
