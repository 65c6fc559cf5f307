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
