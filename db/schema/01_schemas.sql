-- Extensions live in their own schema; tables and helpers in the private schema lp; the callable API in api.
CREATE SCHEMA IF NOT EXISTS ext;
COMMENT ON SCHEMA ext IS 'Extensions used by livepanty (citext, pgcrypto; pg_stat_statements for the metrics).';
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
-- Not to livepanty_readonly: reporting reads only the pseudonymised views of schema reporting.
GRANT USAGE ON SCHEMA lp TO livepanty_app, livepanty_service;
GRANT USAGE ON SCHEMA api TO livepanty_app, livepanty_service, livepanty_readonly;
RESET ROLE;
