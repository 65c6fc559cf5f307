-- Undo 0061_recent_login_for_self_deletion (the description of privacy.erasure_login_minutes before it).
UPDATE lp.settings
   SET description = 'A user may ask for their own erasure (api.request_erasure) only through a session opened by a login at most this many minutes ago.'
 WHERE key = 'privacy.erasure_login_minutes';
