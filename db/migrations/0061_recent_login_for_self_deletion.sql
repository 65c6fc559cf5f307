-- 0061: a non-admin's deletion of their own account (api.delete_user) wants the recent login that
-- api.request_erasure wants (lp.require_recent_login, one rule for both, LP171): a stolen long-lived session
-- token, or the back office acting in the user's name, can no longer close the account. The functions are
-- repeatable; this migration only says so in the description of the setting both read.
UPDATE lp.settings
   SET description = 'A user may ask for their own erasure (api.request_erasure), or delete their own account unless they are an admin (api.delete_user), only through a session opened by a login at most this many minutes ago (lp.require_recent_login, LP171).'
 WHERE key = 'privacy.erasure_login_minutes';
