SET ROLE livepanty_owner;

CREATE TABLE lp.settings (
    key         text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    value       jsonb NOT NULL,
    description text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid
);
COMMENT ON TABLE lp.settings IS 'Runtime configuration read by the api functions (api.set_setting changes it, audited). Keys are dotted names.';
COMMENT ON COLUMN lp.settings.updated_by IS 'Platform user who last changed the value (no foreign key: settings outlive users).';
CREATE TRIGGER settings_touch_updated_at BEFORE UPDATE ON lp.settings
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

INSERT INTO lp.settings (key, value, description) VALUES
    ('auth.bcrypt_cost',           '12',  'bcrypt work factor for new password hashes (10..15 through api.set_setting).'),
    ('auth.password_min_length',   '10',  'Minimum password length in characters.'),
    ('auth.max_failed_logins',     '5',   'Consecutive failed logins that lock an account.'),
    ('auth.lockout_minutes',       '15',  'How long a locked account stays locked, in minutes.'),
    ('auth.session_ttl_hours',     '720', 'Default lifetime of a login session, in hours.'),
    ('auth.reset_token_ttl_minutes', '60', 'Lifetime of a password reset token, in minutes.'),
    ('auth.minimum_age_years',     '18',  'Minimum age in years to register.');

-- Seed rows first: once row level security is forced, only policies let rows in.
ALTER TABLE lp.settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.settings FORCE ROW LEVEL SECURITY;

RESET ROLE;
