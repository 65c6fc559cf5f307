SET ROLE livepanty_owner;

CREATE TABLE lp.users (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email               ext.citext NOT NULL
                        CHECK (length(email::text) <= 254
                               AND email::text ~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$'),
    username            ext.citext NOT NULL CHECK (username::text ~ '^[A-Za-z][A-Za-z0-9_]{2,29}$'),
    display_name        text CHECK (char_length(display_name) BETWEEN 1 AND 64),
    password_hash       text NOT NULL CHECK (password_hash ~ '^\$2[abxy]\$[0-9]{2}\$[./A-Za-z0-9]{53}$'),
    role                lp.user_role NOT NULL DEFAULT 'viewer',
    date_of_birth       date NOT NULL CHECK (date_of_birth >= DATE '1900-01-01'),
    country_code        text CHECK (country_code ~ '^[A-Z]{2}$'),
    bio                 text CHECK (char_length(bio) <= 2000),
    avatar_url          text CHECK (char_length(avatar_url) <= 2048 AND avatar_url ~ '^https://'),
    email_verified_at   timestamptz,
    age_verified_at     timestamptz,
    failed_login_count  integer NOT NULL DEFAULT 0 CHECK (failed_login_count >= 0),
    locked_until        timestamptz,
    last_login_at       timestamptz,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    CHECK (deleted_at IS NULL OR deleted_at >= created_at)
);
COMMENT ON TABLE lp.users IS 'User accounts. Soft-deleted with deleted_at (right to erasure); money rows keep referencing them.';
COMMENT ON COLUMN lp.users.email IS 'Login e-mail, case-insensitive; unique among users that are not deleted.';
COMMENT ON COLUMN lp.users.username IS 'Public handle: a letter then letters, digits or underscores, 3..30 characters; case-insensitive, unique among users that are not deleted.';
COMMENT ON COLUMN lp.users.password_hash IS 'bcrypt hash (pgcrypto crypt/gen_salt(''bf'')). Never granted to any application role.';
COMMENT ON COLUMN lp.users.role IS 'Platform role: viewer, performer, moderator, admin or compliance_officer; the last three are staff (lp.is_staff: only admins sanction them, read or work the cases about them, read their sanctions and appeals).';
COMMENT ON COLUMN lp.users.date_of_birth IS 'Mandatory; registration rejects anyone under auth.minimum_age_years (18).';
COMMENT ON COLUMN lp.users.age_verified_at IS 'When an approved KYC verification confirmed the user''s age.';
COMMENT ON COLUMN lp.users.failed_login_count IS 'Consecutive failed logins since the last success; reaching auth.max_failed_logins sets locked_until.';
COMMENT ON COLUMN lp.users.locked_until IS 'Login is refused until this time after too many failures.';
COMMENT ON COLUMN lp.users.deleted_at IS 'Soft delete: the user can no longer log in; financial and moderation history stays.';

CREATE UNIQUE INDEX users_email_key ON lp.users (email) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_username_key ON lp.users (username) WHERE deleted_at IS NULL;
CREATE INDEX users_role_idx ON lp.users (role, created_at) WHERE deleted_at IS NULL;
CREATE INDEX users_created_at_idx ON lp.users (created_at);

ALTER TABLE lp.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.users FORCE ROW LEVEL SECURITY;
CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON lp.users
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

RESET ROLE;
