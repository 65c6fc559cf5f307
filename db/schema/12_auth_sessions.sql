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
