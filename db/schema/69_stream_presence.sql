-- Viewers of live streams: counter shards, performers' block lists, their settings (migration 0019).
SET ROLE livepanty_owner;

CREATE TABLE lp.stream_counters (
    stream_id       uuid NOT NULL REFERENCES lp.streams (id) ON DELETE CASCADE,
    shard           smallint NOT NULL CHECK (shard BETWEEN 1 AND 64),
    current_viewers integer NOT NULL DEFAULT 0,
    peak_seen       integer NOT NULL DEFAULT 0 CHECK (peak_seen >= 0),
    unique_viewers  integer NOT NULL DEFAULT 0 CHECK (unique_viewers >= 0),
    joins           bigint NOT NULL DEFAULT 0 CHECK (joins >= 0),
    guest_joins     bigint NOT NULL DEFAULT 0 CHECK (guest_joins >= 0),
    watch_seconds   bigint NOT NULL DEFAULT 0 CHECK (watch_seconds >= 0),
    PRIMARY KEY (stream_id, shard)
);
COMMENT ON TABLE lp.stream_counters IS 'Viewer counters of a live stream, spread over streams.counter_shards rows (made when it goes live): a join or leave changes one free row. A stream''s figure is the sum over its rows (current_viewers of one row may be negative: a viewer may leave through another row than they joined), its peak the largest peak_seen (the sum seen at a join).';
ALTER TABLE lp.stream_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.stream_counters FORCE ROW LEVEL SECURITY;

CREATE TABLE lp.performer_blocks (
    performer_id uuid NOT NULL REFERENCES lp.users (id) ON DELETE CASCADE,
    blocked_id   uuid NOT NULL REFERENCES lp.users (id) ON DELETE CASCADE,
    reason       text CHECK (char_length(reason) BETWEEN 1 AND 500),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (performer_id, blocked_id),
    CHECK (performer_id <> blocked_id)
);
COMMENT ON TABLE lp.performer_blocks IS 'Users a performer keeps out of their streams (api.block_viewer): they cannot join, and are taken out of a stream they are watching.';
CREATE INDEX performer_blocks_blocked_idx ON lp.performer_blocks (blocked_id);
ALTER TABLE lp.performer_blocks ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.performer_blocks FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- As the migrating superuser (row level security is forced on lp.settings).
INSERT INTO lp.settings (key, value, description) VALUES
    ('streams.viewer_timeout_seconds', '90', 'A viewing session without a heartbeat for this long is closed (jobs sweep-viewers, and on read).'),
    ('streams.counter_shards',         '8',  'Rows a live stream''s viewer counters are spread over (hot-row spreading of joins and leaves).');
