-- Undo 0018_stream_lifecycle.
SET ROLE livepanty_owner;
DROP TYPE api.stream_start;
DROP TYPE api.stream;
DROP TABLE lp.stream_consents;
DROP TABLE lp.stream_performers;
DROP INDEX lp.streams_stream_key_key;
DROP INDEX lp.streams_status_idx;
DROP INDEX lp.streams_category_idx;
DROP INDEX lp.streams_live_idx;
DROP INDEX lp.streams_one_live_per_host_key;
ALTER TABLE lp.streams DROP CONSTRAINT streams_check, DROP CONSTRAINT streams_check1,
    DROP COLUMN end_reason, DROP COLUMN stream_key_issued_at, DROP COLUMN unique_viewers, DROP COLUMN watch_seconds,
    DROP COLUMN tips_count, DROP COLUMN tips_tokens,
    ALTER COLUMN status DROP DEFAULT, ALTER COLUMN visibility DROP DEFAULT;
ALTER TABLE lp.streams ALTER COLUMN status TYPE text, ALTER COLUMN visibility TYPE text;
ALTER TABLE lp.streams ALTER COLUMN status SET DEFAULT 'scheduled', ALTER COLUMN visibility SET DEFAULT 'public',
    ADD CONSTRAINT streams_status_check CHECK (status IN ('scheduled', 'live', 'ended', 'cancelled')),
    ADD CONSTRAINT streams_visibility_check CHECK (visibility IN ('public', 'private', 'group')),
    ADD CONSTRAINT streams_check CHECK (status <> 'live' OR (started_at IS NOT NULL AND ended_at IS NULL)),
    ADD CONSTRAINT streams_check1 CHECK (status <> 'ended' OR (started_at IS NOT NULL AND ended_at IS NOT NULL));
CREATE INDEX streams_status_idx ON lp.streams (status, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX streams_category_idx ON lp.streams (category, status) WHERE deleted_at IS NULL;
CREATE INDEX streams_live_idx ON lp.streams (started_at DESC) WHERE status = 'live' AND deleted_at IS NULL;
CREATE UNIQUE INDEX streams_one_live_per_host_key ON lp.streams (host_id) WHERE status = 'live';
DROP TYPE lp.stream_status, lp.stream_visibility;
RESET ROLE;
