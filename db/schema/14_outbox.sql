-- Outgoing e-mails (the outbox) and the settings of their delivery. Secrets in a message (a password reset
-- token) reach only the mailer (livepanty_mailer), through api.claim_messages; no application role reads this
-- table, and a message's payload is erased as soon as it stops being deliverable.
SET ROLE livepanty_owner;

CREATE TABLE lp.outbox (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind               text NOT NULL CHECK (kind IN ('password_reset')),
    user_id            uuid NOT NULL REFERENCES lp.users (id) ON DELETE CASCADE,
    email              text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    payload            jsonb CHECK (jsonb_typeof(payload) = 'object'),
    status             text NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'sent', 'failed', 'superseded', 'expired', 'cancelled')),
    attempts           integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    claimed_until      timestamptz,
    expires_at         timestamptz,
    provider_reference text CHECK (char_length(provider_reference) <= 255),
    last_error         text CHECK (char_length(last_error) <= 1000),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    sent_at            timestamptz,
    CHECK ((status = 'queued') = (payload IS NOT NULL)),
    CHECK (status = 'queued' OR claimed_until IS NULL),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
COMMENT ON TABLE lp.outbox IS 'Outgoing e-mails, one row per message, written in the transaction that decides to send them (api.request_password_reset). Only the mailer (livepanty_mailer) gets them, through api.claim_messages / api.mark_message_sent / api.mark_message_failed; no grant to any other role.';
COMMENT ON COLUMN lp.outbox.kind IS 'Which template: password_reset.';
COMMENT ON COLUMN lp.outbox.email IS 'Recipient address, as the user''s account had it when the message was queued.';
COMMENT ON COLUMN lp.outbox.payload IS 'What the template needs (for password_reset: token, expires_at, username, display_name, language). Holds secrets: set only while the message is queued, erased (NULL) once it is sent, failed, superseded, expired or cancelled.';
COMMENT ON COLUMN lp.outbox.status IS 'queued (waiting, or claimed while claimed_until is set), sent, failed (given up), superseded (a newer message of the same kind replaced it), expired (its content expired before delivery), cancelled (the user was deleted).';
COMMENT ON COLUMN lp.outbox.attempts IS 'How many times a mailer claimed the message; the claim returns it as the attempt number that api.mark_message_sent / api.mark_message_failed must quote.';
COMMENT ON COLUMN lp.outbox.next_attempt_at IS 'Not claimable before this time (set by api.mark_message_failed for a retry).';
COMMENT ON COLUMN lp.outbox.claimed_until IS 'Lease of the current claim: until then no other claim returns the message; after it, a crashed mailer''s message is claimable again.';
COMMENT ON COLUMN lp.outbox.expires_at IS 'After this time the message is worthless (a reset token''s expiry) and is never sent.';

CREATE INDEX outbox_due_idx ON lp.outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX outbox_user_idx ON lp.outbox (user_id, kind, created_at);

ALTER TABLE lp.outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.outbox FORCE ROW LEVEL SECURITY;
CREATE TRIGGER outbox_touch_updated_at BEFORE UPDATE ON lp.outbox
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

-- The mailer calls its three api functions; it needs no other schema.
GRANT USAGE ON SCHEMA api TO livepanty_mailer;

RESET ROLE;

-- As the migrating superuser: row level security is forced on lp.settings and the owner's policies are
-- re-applied only after the schema files.
INSERT INTO lp.settings (key, value, description) VALUES
    ('auth.reset_request_interval_seconds', '60', 'Seconds after a password reset e-mail during which another request for the same user is answered the same but sends nothing (0: no limit).'),
    ('outbox.max_attempts',                 '5',  'Claims of an outgoing e-mail before the mailer gives up on it (failed).'),
    ('outbox.retry_seconds',                '60', 'Delay before a failed e-mail is offered again, in seconds; doubled after each further failed attempt (at most one day).');
