-- Roles are cluster-wide and may serve other databases: they are left in place.
ALTER DEFAULT PRIVILEGES FOR ROLE livepanty_owner GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
DROP SCHEMA api CASCADE;
DROP SCHEMA lp CASCADE;
DROP EXTENSION pgcrypto;
DROP EXTENSION citext;
DROP SCHEMA ext;
