-- 0018_stream_lifecycle: what a stream needs to go live (issue 8, section 1). Frozen once landed.
--  * lp.streams.status and .visibility become enum types (the one place of their values, as in 0017);
--  * the stream's end (reason) and final statistics, and when its ingest key was issued;
--  * lp.stream_performers: the co-performers a host puts on camera with them;
--  * lp.stream_consents: one immutable consent per stream and performer on camera (time and IP address),
--    which the go-live gate requires of the host and of every co-performer.
SET ROLE livepanty_owner;

CREATE TYPE lp.stream_status AS ENUM ('scheduled', 'live', 'ended', 'cancelled');
COMMENT ON TYPE lp.stream_status IS 'State of a stream (lp.streams.status): scheduled -> live -> ended, or cancelled before going live.';
CREATE TYPE lp.stream_visibility AS ENUM ('public', 'private', 'group');
COMMENT ON TYPE lp.stream_visibility IS 'Who may watch a stream (lp.streams.visibility).';

DROP INDEX lp.streams_status_idx;
DROP INDEX lp.streams_category_idx;
DROP INDEX lp.streams_live_idx;
DROP INDEX lp.streams_one_live_per_host_key;
ALTER TABLE lp.streams DROP CONSTRAINT streams_status_check, DROP CONSTRAINT streams_visibility_check,
    DROP CONSTRAINT streams_check, DROP CONSTRAINT streams_check1,
    ALTER COLUMN status DROP DEFAULT, ALTER COLUMN visibility DROP DEFAULT;
ALTER TABLE lp.streams ALTER COLUMN status TYPE lp.stream_status USING status::lp.stream_status,
    ALTER COLUMN visibility TYPE lp.stream_visibility USING visibility::lp.stream_visibility;
ALTER TABLE lp.streams ALTER COLUMN status SET DEFAULT 'scheduled', ALTER COLUMN visibility SET DEFAULT 'public',
    ADD CONSTRAINT streams_check CHECK (status <> 'live' OR (started_at IS NOT NULL AND ended_at IS NULL)),
    ADD CONSTRAINT streams_check1 CHECK (status <> 'ended' OR (started_at IS NOT NULL AND ended_at IS NOT NULL)),
    ADD COLUMN end_reason text CHECK (char_length(end_reason) BETWEEN 1 AND 1000),
    ADD COLUMN stream_key_issued_at timestamptz,
    ADD COLUMN unique_viewers integer NOT NULL DEFAULT 0 CHECK (unique_viewers >= 0),
    ADD COLUMN watch_seconds bigint NOT NULL DEFAULT 0 CHECK (watch_seconds >= 0),
    ADD COLUMN tips_count bigint NOT NULL DEFAULT 0 CHECK (tips_count >= 0),
    ADD COLUMN tips_tokens bigint NOT NULL DEFAULT 0 CHECK (tips_tokens >= 0);
COMMENT ON COLUMN lp.streams.end_reason IS 'Why the stream ended or was cancelled (required when an admin ends someone else''s stream; audited).';
COMMENT ON COLUMN lp.streams.stream_key_issued_at IS 'When the current ingest key was issued (api.start_stream, api.rotate_stream_key).';
COMMENT ON COLUMN lp.streams.unique_viewers IS 'Final statistic, written when the stream ends: distinct logged-in viewers.';
COMMENT ON COLUMN lp.streams.watch_seconds IS 'Final statistic, written when the stream ends: total watch time of every viewing session.';
COMMENT ON COLUMN lp.streams.tips_count IS 'Final statistic, written when the stream ends: tips that named the stream.';
COMMENT ON COLUMN lp.streams.tips_tokens IS 'Final statistic, written when the stream ends: tokens of those tips.';
CREATE INDEX streams_status_idx ON lp.streams (status, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX streams_category_idx ON lp.streams (category, status) WHERE deleted_at IS NULL;
CREATE INDEX streams_live_idx ON lp.streams (started_at DESC) WHERE status = 'live' AND deleted_at IS NULL;
CREATE UNIQUE INDEX streams_one_live_per_host_key ON lp.streams (host_id) WHERE status = 'live';
CREATE UNIQUE INDEX streams_stream_key_key ON lp.streams (stream_key_hash) WHERE stream_key_hash IS NOT NULL;

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

CREATE TYPE api.stream AS (
    id                   uuid,
    host_id              uuid,
    title                text,
    description          text,
    category             text,
    tags                 text[],
    status               text,
    visibility           text,
    is_mature            boolean,
    thumbnail_url        text,
    scheduled_at         timestamptz,
    started_at           timestamptz,
    ended_at             timestamptz,
    end_reason           text,
    peak_viewers         integer,
    unique_viewers       integer,
    watch_seconds        bigint,
    tips_count           bigint,
    tips_tokens          bigint,
    performers           uuid[],
    created_at           timestamptz,
    updated_at           timestamptz
);
COMMENT ON TYPE api.stream IS 'A stream as its API functions return it: lp.streams without the ingest key hash, with its co-performers (performers: ids, host excluded).';

CREATE TYPE api.stream_start AS (
    stream_id     uuid,
    status        text,
    started_at    timestamptz,
    stream_key    text,
    key_issued_at timestamptz
);
COMMENT ON TYPE api.stream_start IS 'What api.start_stream and api.rotate_stream_key return: the stream, its state and its ingest key, shown this once (only its SHA-256 is stored).';

RESET ROLE;
