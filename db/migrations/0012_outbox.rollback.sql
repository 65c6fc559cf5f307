-- Repeatables (api.claim_messages, ...) are dropped before this runs. The role stays: roles are cluster-wide
-- and may serve other databases (as in 0001).
SET ROLE livepanty_owner;
CREATE TYPE api.reset_request AS (
    token      text,
    expires_at timestamptz
);
COMMENT ON TYPE api.reset_request IS 'A password reset token to e-mail to the user; token is NULL when no active account has that e-mail (the caller answers the same either way).';
REVOKE USAGE ON SCHEMA api FROM livepanty_mailer;
RESET ROLE;
DELETE FROM lp.settings
 WHERE key IN ('auth.reset_request_interval_seconds', 'outbox.max_attempts', 'outbox.retry_seconds');
DROP TABLE lp.outbox;
