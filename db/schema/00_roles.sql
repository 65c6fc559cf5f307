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
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'livepanty_mailer') THEN
        CREATE ROLE livepanty_mailer NOLOGIN;
    END IF;
END
$roles$;

COMMENT ON ROLE livepanty_owner IS 'Owns every livepanty object; SECURITY DEFINER functions run as this role. NOLOGIN.';
COMMENT ON ROLE livepanty_app IS 'Application role: EXECUTE on the user-facing api functions, SELECT through RLS. Grant it to the login role of the application.';
COMMENT ON ROLE livepanty_service IS 'Back-office role (payment webhooks, payout processing, admin bootstrap): the application role plus service-only functions.';
COMMENT ON ROLE livepanty_readonly IS 'Reporting role: SELECT on the pseudonymised views of schema reporting only (no privilege on schema lp or its tables), no writers.';
COMMENT ON ROLE livepanty_mailer IS 'Delivery service (the mailer): claims outgoing e-mails from lp.outbox and reports them sent or failed, through api.claim_messages, api.mark_message_sent and api.mark_message_failed only. The only role that ever sees a password reset token. NOLOGIN.';
