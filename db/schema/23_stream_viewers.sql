SET ROLE livepanty_owner;

CREATE TABLE lp.stream_viewers (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id         uuid NOT NULL REFERENCES lp.streams (id) ON DELETE CASCADE,
    user_id           uuid NOT NULL REFERENCES lp.users (id) ON DELETE CASCADE,
    joined_at         timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at timestamptz NOT NULL DEFAULT now(),
    left_at           timestamptz,
    ip_address        inet,
    CHECK (left_at IS NULL OR left_at >= joined_at),
    CHECK (last_heartbeat_at >= joined_at)
) WITH (fillfactor = 70);
COMMENT ON TABLE lp.stream_viewers IS 'One row per viewing session of a user in a stream (join to leave); open sessions have left_at NULL.';
COMMENT ON COLUMN lp.stream_viewers.last_heartbeat_at IS 'Last sign of life from the player; sessions without one for a while are closed by a job.';

CREATE UNIQUE INDEX stream_viewers_open_key ON lp.stream_viewers (stream_id, user_id) WHERE left_at IS NULL;
CREATE INDEX stream_viewers_stream_idx ON lp.stream_viewers (stream_id, joined_at);
CREATE INDEX stream_viewers_user_idx ON lp.stream_viewers (user_id, joined_at DESC);
CREATE INDEX stream_viewers_stream_user_idx ON lp.stream_viewers (stream_id, user_id);

ALTER TABLE lp.stream_viewers ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.stream_viewers FORCE ROW LEVEL SECURITY;

RESET ROLE;
