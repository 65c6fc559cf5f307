-- The reporting schema: pseudonymised views (db/views/reporting.*.sql, docs/reporting.md) for livepanty_readonly,
-- which has no privilege on any lp table. The views run with the owner's rights (security_invoker = false).
CREATE SCHEMA reporting AUTHORIZATION livepanty_owner;
COMMENT ON SCHEMA reporting IS 'Pseudonymised read-only views for reporting (livepanty_readonly): every id is an HMAC pseudonym, no e-mail, username, date of birth, IP address, document location or free text. Definer views: the reader needs no privilege on lp.';

SET ROLE livepanty_owner;
GRANT USAGE ON SCHEMA reporting TO livepanty_readonly;
RESET ROLE;
