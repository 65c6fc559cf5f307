-- A stream's event log (migration 0020; see there for the reading rule).
SET ROLE livepanty_owner;

CREATE TYPE lp.stream_event_kind AS ENUM ('stream_started', 'stream_ended', 'tip', 'viewer_count', 'menu_item',
                                          'goal_started', 'goal_reached', 'goal_missed', 'goal_cancelled',
                                          'show_requested', 'show_opened', 'show_started', 'show_ended',
                                          'moderation');
COMMENT ON TYPE lp.stream_event_kind IS 'What happened in a stream (lp.stream_events.kind).';

CREATE TABLE lp.stream_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id  uuid NOT NULL REFERENCES lp.streams (id) ON DELETE CASCADE,
    tx         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind       lp.stream_event_kind NOT NULL,
    payload    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE lp.stream_events IS 'A stream''s events, appended in the transaction that made them (lp.emit_event); read in (tx, id) order by api.stream_events, only once every older transaction has finished.';
COMMENT ON COLUMN lp.stream_events.tx IS 'The writing transaction (pg_current_xact_id): with id, the reading order; events of a transaction older than every running one never move.';
CREATE INDEX stream_events_position_idx ON lp.stream_events (stream_id, tx, id);
CREATE INDEX stream_events_created_idx ON lp.stream_events (created_at);
CREATE INDEX stream_events_tx_idx ON lp.stream_events (tx, id);
ALTER TABLE lp.stream_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.stream_events FORCE ROW LEVEL SECURITY;

CREATE TABLE lp.stream_event_horizons (
    stream_id uuid PRIMARY KEY REFERENCES lp.streams (id) ON DELETE CASCADE,
    tx        xid8 NOT NULL,
    id        bigint NOT NULL
);
COMMENT ON TABLE lp.stream_event_horizons IS 'The newest position (tx, id) the event purge has deleted for a stream: a reader whose position is older missed events (LP125).';
ALTER TABLE lp.stream_event_horizons ENABLE ROW LEVEL SECURITY;
ALTER TABLE lp.stream_event_horizons FORCE ROW LEVEL SECURITY;

RESET ROLE;

-- As the migrating superuser (row level security is forced on lp.settings).
INSERT INTO lp.settings (key, value, description) VALUES
    ('events.retention_days', '7', 'Stream events older than this many days are purged (livepanty-db jobs purge-events).'),
    ('events.wake_up', '"commit"', 'Who wakes a stream''s listeners: "commit" (each transaction that appends an event NOTIFYs at its commit) or "notifier" (livepanty-db jobs wake-listeners does, coalesced: NOTIFY serialises the commits of notifying transactions, which costs a hot stream''s tips a quarter of their throughput).');
