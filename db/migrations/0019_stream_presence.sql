-- 0019_stream_presence: viewers of live streams (issue 8, section 2). Frozen once landed.
--  * lp.stream_counters: a live stream's viewer counters, spread over shards as wallets' credits are, so that
--    joins and leaves of one popular stream do not queue on one row; heartbeats touch none of them;
--  * lp.stream_viewers gets room for HOT updates (a heartbeat rewrites its row in place, no index changes)
--    and an index to tell a returning viewer from a new one;
--  * lp.performer_blocks: the viewers a performer keeps out of their streams;
--  * settings streams.viewer_timeout_seconds and streams.counter_shards; api.stream shows current_viewers;
--    api.viewing is what join, heartbeat and leave return;
--  * listings: lp.streams.listed_viewers (the count the sweep copies from the counters) and the indexes the
--    live listing (by viewers, optionally by category) and a performer's streams read.
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

ALTER TABLE lp.stream_viewers SET (fillfactor = 70);
CREATE INDEX stream_viewers_stream_user_idx ON lp.stream_viewers (stream_id, user_id);

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

ALTER TABLE lp.streams
    ADD COLUMN listed_viewers integer NOT NULL DEFAULT 0 CHECK (listed_viewers >= 0);
COMMENT ON COLUMN lp.streams.listed_viewers IS 'The viewer count the listings order by: copied from the counter rows by the viewer sweep (api.sweep_viewers), so at most one sweep old; 0 unless live.';
DROP INDEX lp.streams_host_idx;
CREATE INDEX streams_host_idx ON lp.streams (host_id, created_at DESC, id DESC);
CREATE INDEX streams_listing_idx ON lp.streams (listed_viewers, id)
    WHERE status = 'live' AND visibility = 'public' AND deleted_at IS NULL;
CREATE INDEX streams_category_listing_idx ON lp.streams (category, listed_viewers, id)
    WHERE status = 'live' AND visibility = 'public' AND deleted_at IS NULL;

ALTER TYPE api.stream ADD ATTRIBUTE current_viewers integer;

CREATE TYPE api.viewing AS (
    session_id        bigint,
    stream_id         uuid,
    joined_at         timestamptz,
    last_heartbeat_at timestamptz,
    left_at           timestamptz,
    viewers           integer
);
COMMENT ON TYPE api.viewing IS 'A viewing session of the acting user (api.join_stream, api.heartbeat_stream, api.leave_stream) and the stream''s current viewer count.';

RESET ROLE;

INSERT INTO lp.settings (key, value, description) VALUES
    ('streams.viewer_timeout_seconds', '90', 'A viewing session without a heartbeat for this long is closed (jobs sweep-viewers, and on read).'),
    ('streams.counter_shards',         '8',  'Rows a live stream''s viewer counters are spread over (hot-row spreading of joins and leaves).');

-- Streams live when this runs get their counter rows now, with their open sessions counted on the first.
INSERT INTO lp.stream_counters (stream_id, shard)
SELECT s.id, n FROM lp.streams AS s CROSS JOIN generate_series(1, 8) AS n WHERE s.status = 'live';
UPDATE lp.stream_counters AS c
   SET current_viewers = o.n, peak_seen = greatest(o.n, s.peak_viewers), unique_viewers = o.u, joins = o.n
  FROM lp.streams AS s,
       LATERAL (SELECT count(*) FILTER (WHERE v.left_at IS NULL)::integer AS n, count(DISTINCT v.user_id)::integer AS u
                  FROM lp.stream_viewers AS v WHERE v.stream_id = s.id) AS o
 WHERE c.stream_id = s.id AND c.shard = 1 AND s.status = 'live';
