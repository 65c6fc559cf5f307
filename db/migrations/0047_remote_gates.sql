-- 0047: co-performers who live on another shard than the stream (docs/scale-out.md, "Co-performers of other
-- shards"): the go-live gate of a stream reads what their own shard says of their account, verification and
-- sanctions from lp.remote_gates, which the router refreshes before it applies the gate.
SET ROLE livepanty_owner;
CREATE TABLE lp.remote_gates (
    user_id    uuid PRIMARY KEY REFERENCES lp.users (id) ON DELETE CASCADE,
    gaps       text[] NOT NULL,
    checked_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE lp.remote_gates IS 'Owner only. On a stream''s shard: for each co-performer who lives on another shard (a stub here), what their own shard last said they lack to be on camera (lp.performer_gaps there: an active performer account, a valid identity verification, no sanction that forbids streaming; empty: nothing). Written only by the router (shard.note_gates), right before api.start_stream and api.check_stream_key and before each api.sweep_viewers; read by lp.go_live_gaps. A stub with no row here fails the gate.';
COMMENT ON COLUMN lp.remote_gates.checked_at IS 'When the router last asked the user''s own shard.';
ALTER TABLE lp.remote_gates ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.remote_gates FORCE ROW LEVEL SECURITY;
RESET ROLE;
