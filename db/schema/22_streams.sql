SET ROLE livepanty_owner;

CREATE TABLE lp.streams (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    host_id         uuid NOT NULL REFERENCES lp.users (id) ON DELETE CASCADE,
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 140),
    description     text CHECK (char_length(description) <= 5000),
    category        text NOT NULL DEFAULT 'general' CHECK (category ~ '^[a-z][a-z0-9_-]{1,31}$'),
    tags            text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
    status          lp.stream_status NOT NULL DEFAULT 'scheduled',
    visibility      lp.stream_visibility NOT NULL DEFAULT 'public',
    is_mature       boolean NOT NULL DEFAULT true,
    thumbnail_url   text CHECK (char_length(thumbnail_url) <= 2048 AND thumbnail_url ~ '^https://'),
    stream_key_hash bytea CHECK (octet_length(stream_key_hash) = 32),
    scheduled_at    timestamptz,
    started_at      timestamptz,
    ended_at        timestamptz,
    peak_viewers    integer NOT NULL DEFAULT 0 CHECK (peak_viewers >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    end_reason      text CHECK (char_length(end_reason) BETWEEN 1 AND 1000),
    stream_key_issued_at timestamptz,
    unique_viewers  integer NOT NULL DEFAULT 0 CHECK (unique_viewers >= 0),
    watch_seconds   bigint NOT NULL DEFAULT 0 CHECK (watch_seconds >= 0),
    tips_count      bigint NOT NULL DEFAULT 0 CHECK (tips_count >= 0),
    tips_tokens     bigint NOT NULL DEFAULT 0 CHECK (tips_tokens >= 0),
    listed_viewers  integer NOT NULL DEFAULT 0 CHECK (listed_viewers >= 0),
    ended_by        text CHECK (ended_by IN ('host', 'admin', 'gate')),
    CONSTRAINT streams_ended_by_once_ended CHECK (ended_by IS NULL OR status IN ('ended', 'cancelled')),
    CHECK (status <> 'live' OR (started_at IS NOT NULL AND ended_at IS NULL)),
    CHECK (status <> 'ended' OR (started_at IS NOT NULL AND ended_at IS NOT NULL)),
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
COMMENT ON TABLE lp.streams IS 'Live streaming sessions and their metadata. Tips keep their money when a stream goes (tips.stream_id is SET NULL).';
COMMENT ON COLUMN lp.streams.status IS 'scheduled -> live -> ended, or cancelled before going live. At most one live stream per host.';
COMMENT ON COLUMN lp.streams.visibility IS 'public, private (one paying viewer) or group show.';
COMMENT ON COLUMN lp.streams.stream_key_hash IS 'SHA-256 of the ingest stream key. Never granted to any application role.';
COMMENT ON COLUMN lp.streams.peak_viewers IS 'Highest concurrent viewer count seen, maintained when viewers join.';
COMMENT ON COLUMN lp.streams.end_reason IS 'Why the stream ended or was cancelled (required when an admin ends someone else''s stream; audited).';
COMMENT ON COLUMN lp.streams.ended_by IS 'Who ended or cancelled the stream (lp.close_stream''s p_by, also in its stream_ended event and stream.end audit row, which expire): host (api.end_stream by the host), admin (api.end_stream by an admin, api.resolve_case), gate (the system: the go-live gate, a ban, suspension, role change, deletion or erasure of someone on camera, automated moderation; a scheduled stream the host''s erasure cancels). NULL while scheduled or live, and for a stream ended before migration 0052 that left no event or audit row saying who. The host''s erasure blanks end_reason only when the host wrote it (docs/compliance.md).';
COMMENT ON COLUMN lp.streams.stream_key_issued_at IS 'When the current ingest key was issued (api.start_stream, api.rotate_stream_key).';
COMMENT ON COLUMN lp.streams.unique_viewers IS 'Final statistic, written when the stream ends: distinct logged-in viewers.';
COMMENT ON COLUMN lp.streams.watch_seconds IS 'Final statistic, written when the stream ends: total watch time of every viewing session.';
COMMENT ON COLUMN lp.streams.tips_count IS 'Final statistic, written when the stream ends: tips that named the stream.';
COMMENT ON COLUMN lp.streams.tips_tokens IS 'Final statistic, written when the stream ends: tokens of those tips.';
COMMENT ON COLUMN lp.streams.listed_viewers IS 'The viewer count the listings order by: copied from the counter rows by the viewer sweep (api.sweep_viewers), so at most one sweep old; 0 unless live.';
COMMENT ON COLUMN lp.streams.deleted_at IS 'Soft delete: hidden from everyone but moderators and admins.';

CREATE INDEX streams_host_idx ON lp.streams (host_id, created_at DESC, id DESC);
CREATE INDEX streams_status_idx ON lp.streams (status, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX streams_category_idx ON lp.streams (category, status) WHERE deleted_at IS NULL;
CREATE INDEX streams_live_idx ON lp.streams (started_at DESC) WHERE status = 'live' AND deleted_at IS NULL;
CREATE UNIQUE INDEX streams_one_live_per_host_key ON lp.streams (host_id) WHERE status = 'live';
CREATE UNIQUE INDEX streams_stream_key_key ON lp.streams (stream_key_hash) WHERE stream_key_hash IS NOT NULL;
CREATE INDEX streams_listing_idx ON lp.streams (listed_viewers, id)
    WHERE status = 'live' AND visibility = 'public' AND deleted_at IS NULL;
CREATE INDEX streams_category_listing_idx ON lp.streams (category, listed_viewers, id)
    WHERE status = 'live' AND visibility = 'public' AND deleted_at IS NULL;

ALTER TABLE lp.streams ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.streams FORCE ROW LEVEL SECURITY;
CREATE TRIGGER streams_touch_updated_at BEFORE UPDATE ON lp.streams
    FOR EACH ROW EXECUTE FUNCTION lp.touch_updated_at();

RESET ROLE;
