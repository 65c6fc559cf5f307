-- 0003_identity_tables: frozen copy of the canonical definitions as of this migration.

-- from db/schema/10_users.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.users (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email               ext.citext NOT NULL
                        CHECK (length(email::text) <= 254
                               AND email::text ~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$'),
    username            ext.citext NOT NULL CHECK (username::text ~ '^[A-Za-z][A-Za-z0-9_]{2,29}$'),
    display_name        text CHECK (char_length(display_name) BETWEEN 1 AND 64),
    password_hash       text NOT NULL CHECK (password_hash ~ '^\$2[abxy]\$[0-9]{2}\$[./A-Za-z0-9]{53}$'),
    role                text NOT NULL DEFAULT 'viewer'
                        CHECK (role IN ('viewer', 'performer', 'moderator', 'admin')),
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
COMMENT ON COLUMN lp.users.role IS 'Platform role: viewer, performer, moderator or admin.';
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

-- from db/schema/11_user_preferences.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.user_preferences (
    user_id               uuid PRIMARY KEY REFERENCES lp.users (id) ON DELETE CASCADE,
    language              text NOT NULL DEFAULT 'en' CHECK (language ~ '^[a-z]{2}(-[A-Z]{2})?$'),
    timezone              text NOT NULL DEFAULT 'UTC' CHECK (char_length(timezone) BETWEEN 1 AND 64),
    theme                 text NOT NULL DEFAULT 'system' CHECK (theme IN ('light', 'dark', 'system')),
    email_notifications   boolean NOT NULL DEFAULT true,
    push_notifications    boolean NOT NULL DEFAULT true,
    tip_notifications     boolean NOT NULL DEFAULT true,
    marketing_emails      boolean NOT NULL DEFAULT false,
    show_online_status    boolean NOT NULL DEFAULT true,
    content_filter        text NOT NULL DEFAULT 'standard' CHECK (content_filter IN ('strict', 'standard', 'off')),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE lp.user_preferences IS 'Per-user settings and notification preferences; one row per user, created at registration (cascades with a hard-deleted user: it is not history).';
COMMENT ON COLUMN lp.user_preferences.timezone IS 'IANA time zone name; api.update_preferences checks it against pg_timezone_names.';
COMMENT ON COLUMN lp.user_preferences.content_filter IS 'How much mature content the user wants filtered: strict, standard or off.';

ALTER TABLE lp.user_preferences ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.user_preferences FORCE ROW LEVEL SECURITY;
CREATE TRIGGER user_preferences_touch_updated_at BEFORE UPDATE ON lp.user_preferences
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

RESET ROLE;

-- from db/schema/12_auth_sessions.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.auth_sessions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES lp.users (id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    ip_address    inet,
    user_agent    text CHECK (char_length(user_agent) <= 512),
    device_info   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(device_info) = 'object'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text CHECK (revoke_reason IN ('logout', 'logout_all', 'password_change', 'password_reset',
                                                'admin', 'user_deleted', 'sanction')),
    CHECK (expires_at > created_at),
    CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
);
COMMENT ON TABLE lp.auth_sessions IS 'Login sessions. The bearer token (256 random bits) is returned once by api.login and stored only as its SHA-256.';
COMMENT ON COLUMN lp.auth_sessions.token_hash IS 'SHA-256 of the session token. Never granted to any application role.';
COMMENT ON COLUMN lp.auth_sessions.device_info IS 'Client-supplied device description (JSON object), for the user''s session list.';
COMMENT ON COLUMN lp.auth_sessions.last_seen_at IS 'Last successful api.authenticate, refreshed at most once a minute.';

CREATE INDEX auth_sessions_user_active_idx ON lp.auth_sessions (user_id, created_at) WHERE revoked_at IS NULL;
CREATE INDEX auth_sessions_expires_at_idx ON lp.auth_sessions (expires_at) WHERE revoked_at IS NULL;

ALTER TABLE lp.auth_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.auth_sessions FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- from db/schema/13_password_reset_tokens.sql
SET ROLE livepanty_owner;

CREATE TABLE lp.password_reset_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES lp.users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    requested_ip inet,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    revoked_at   timestamptz,
    CHECK (expires_at > created_at),
    CHECK (used_at IS NULL OR revoked_at IS NULL)
);
COMMENT ON TABLE lp.password_reset_tokens IS 'Password reset tokens: stored as SHA-256 only, single-use, expiring. A new request revokes the user''s earlier unused tokens.';
COMMENT ON COLUMN lp.password_reset_tokens.token_hash IS 'SHA-256 of the emailed token. Never granted to any application role.';
COMMENT ON COLUMN lp.password_reset_tokens.revoked_at IS 'Set when a newer request or a successful reset supersedes this unused token.';

CREATE INDEX password_reset_tokens_user_idx ON lp.password_reset_tokens (user_id, created_at)
    WHERE used_at IS NULL AND revoked_at IS NULL;

ALTER TABLE lp.password_reset_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.password_reset_tokens FORCE ROW LEVEL SECURITY;

RESET ROLE;
