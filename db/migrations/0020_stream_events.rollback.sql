-- Undo 0020_stream_events.
DELETE FROM lp.settings WHERE key IN ('events.retention_days', 'events.wake_up');
SET ROLE livepanty_owner;
DROP TABLE lp.stream_event_horizons;
DROP TABLE lp.stream_events;
DROP TYPE lp.stream_event_kind;
RESET ROLE;
