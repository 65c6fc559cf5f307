SET ROLE livepanty_owner;

CREATE TABLE lp.locks (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    description text NOT NULL
);
COMMENT ON TABLE lp.locks IS 'Named locks for the owner''s functions: one row per lock, taken with SELECT ... FOR UPDATE and held until the transaction ends. No role but the owner is granted the table (unlike an advisory lock, which any role that can connect may take, so no application, service or reporting login can take one of these and sit on it). Rows are never updated or deleted.';

INSERT INTO lp.locks (name, description) VALUES
    ('users.admin_set', 'Taken by lp.lock_admin_set (api.set_user_role, and api.delete_user when an admin deletes or is deleted) after the caller is authorised and before any user row lock, so lp.assert_not_last_admin sees a stable set of admins.'),
    ('kyc.references', 'Taken by api.submit_kyc, before any row, when the verification names a provider reference: two submissions of one reference check one after the other that no other user''s verification holds it.');

-- Seed rows first: once row level security is forced, only policies let rows in.
ALTER TABLE lp.locks ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.locks FORCE ROW LEVEL SECURITY;

RESET ROLE;
