-- Undo 0014_hardening. The repeatables (lp.lock_admin_set among them) are dropped before this runs. A work factor
-- raised to 10 stays raised (the old value is not kept).
DELETE FROM lp.settings WHERE key IN ('money.max_tokens', 'money.max_price_minor');
UPDATE lp.settings SET description = 'bcrypt work factor for new password hashes (4..15).' WHERE key = 'auth.bcrypt_cost';
DROP TABLE lp.locks;
