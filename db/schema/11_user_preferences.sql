SET ROLE livepanty_owner;

CREATE TABLE lp.user_preferences (
    user_id               uuid PRIMARY KEY REFERENCES lp.users (id) ON DELETE CASCADE,
    language              text NOT NULL DEFAULT 'en' CHECK (language ~ '^[a-z]{2}(-[A-Z]{2})?$'),
    timezone              text NOT NULL DEFAULT 'UTC' CHECK (char_length(timezone) BETWEEN 1 AND 64),
    theme                 lp.ui_theme NOT NULL DEFAULT 'system',
    email_notifications   boolean NOT NULL DEFAULT true,
    push_notifications    boolean NOT NULL DEFAULT true,
    tip_notifications     boolean NOT NULL DEFAULT true,
    marketing_emails      boolean NOT NULL DEFAULT false,
    show_online_status    boolean NOT NULL DEFAULT true,
    content_filter        lp.content_filter NOT NULL DEFAULT 'standard',
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
