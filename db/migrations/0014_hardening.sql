-- 0014_hardening: four holes of issue 6, point 5. Frozen once landed.
--  * lp.locks: named locks only the owner's functions can take (a row lock on an owner-only table). The lock that
--    guards admin changes (lp.lock_admin_set) was an advisory lock on a well-known key, which any role that can
--    connect could take and hold, blocking every api.set_user_role and api.delete_user.
--  * auth.bcrypt_cost: api.set_setting now refuses a work factor below 10; a database where an admin had set less
--    is raised to 10 here.
--  * money.max_tokens, money.max_price_minor: upper bounds on every amount an api function accepts (LP103), so no
--    amount can overflow bigint arithmetic (22003) further down.

SET ROLE livepanty_owner;

-- from db/schema/06_locks.sql
CREATE TABLE lp.locks (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    description text NOT NULL
);
COMMENT ON TABLE lp.locks IS 'Named locks for the owner''s functions: one row per lock, taken with SELECT ... FOR UPDATE and held until the transaction ends. No role but the owner is granted the table (unlike an advisory lock, which any role that can connect may take, so no application, service or reporting login can take one of these and sit on it). Rows are never updated or deleted.';

INSERT INTO lp.locks (name, description) VALUES
    ('users.admin_set', 'Taken by lp.lock_admin_set (api.set_user_role, and api.delete_user when an admin deletes or is deleted) after the caller is authorised and before any user row lock, so lp.assert_not_last_admin sees a stable set of admins.');

ALTER TABLE lp.locks ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.locks FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- from db/schema/05_settings.sql (as the migrating superuser: row level security is forced on lp.settings)
UPDATE lp.settings
   SET description = 'bcrypt work factor for new password hashes (10..15 through api.set_setting).'
 WHERE key = 'auth.bcrypt_cost';
UPDATE lp.settings SET value = '10' WHERE key = 'auth.bcrypt_cost' AND (value)::text::numeric < 10;

-- from db/schema/68_money_bounds.sql
INSERT INTO lp.settings (key, value, description) VALUES
    ('money.max_tokens',      '10000000000', 'Largest number of tokens any single operation may name (tip, hold, capture, adjustment either way, payout, bundle, spending limit); larger ones are refused with LP103. 10^10 tokens = 100 million USD at 100 tokens per USD. At most 10^12: amount * tips.fee_bps stays below 10^16 and a sum of 9 million maximal amounts still fits in a bigint.'),
    ('money.max_price_minor', '10000000000', 'Highest token bundle price, in minor units of its currency (api.set_bundle; LP103 above). 10^10 = 100 million USD in cents.');
