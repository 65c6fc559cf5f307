-- Who is on camera in a stream, and their consent (migration 0018).
SET ROLE livepanty_owner;

CREATE TABLE lp.stream_performers (
    stream_id    uuid NOT NULL REFERENCES lp.streams (id) ON DELETE CASCADE,
    performer_id uuid NOT NULL REFERENCES lp.users (id) ON DELETE CASCADE,
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, performer_id)
);
COMMENT ON TABLE lp.stream_performers IS 'Co-performers on camera in a stream besides its host (added by the host before the stream starts). Each needs approved KYC and their own consent for the stream to go live.';
CREATE INDEX stream_performers_performer_idx ON lp.stream_performers (performer_id);
ALTER TABLE lp.stream_performers ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.stream_performers FORCE ROW LEVEL SECURITY;

CREATE TABLE lp.stream_consents (
    stream_id    uuid NOT NULL REFERENCES lp.streams (id) ON DELETE RESTRICT,
    performer_id uuid NOT NULL REFERENCES lp.users (id) ON DELETE RESTRICT,
    consented_at timestamptz NOT NULL DEFAULT now(),
    ip_address   inet NOT NULL,
    user_agent   text CHECK (char_length(user_agent) <= 512),
    PRIMARY KEY (stream_id, performer_id)
);
COMMENT ON TABLE lp.stream_consents IS 'A performer''s consent to appear in one stream (host and every co-performer), with the time and the IP address it was given from. Append-only: never updated or deleted (the record card networks require of live adult content).';
CREATE INDEX stream_consents_performer_idx ON lp.stream_consents (performer_id, consented_at DESC);
ALTER TABLE lp.stream_consents ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.stream_consents FORCE ROW LEVEL SECURITY;
CREATE TRIGGER stream_consents_append_only BEFORE UPDATE OR DELETE ON lp.stream_consents
    FOR EACH ROW EXECUTE FUNCTION lp.reject_mutation();
CREATE TRIGGER stream_consents_no_truncate BEFORE TRUNCATE ON lp.stream_consents
    FOR EACH STATEMENT EXECUTE FUNCTION lp.reject_mutation();

RESET ROLE;
