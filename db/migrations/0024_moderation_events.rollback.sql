-- Undo 0024_moderation_events (the repeatable functions that use the value are dropped before this runs).
DELETE FROM lp.stream_events WHERE kind::text = 'moderation';
SET ROLE livepanty_owner;
ALTER TYPE lp.stream_event_kind RENAME TO stream_event_kind_0024;
CREATE TYPE lp.stream_event_kind AS ENUM ('stream_started', 'stream_ended', 'tip', 'viewer_count', 'menu_item',
                                          'goal_started', 'goal_reached', 'goal_missed', 'goal_cancelled',
                                          'show_requested', 'show_opened', 'show_started', 'show_ended');
COMMENT ON TYPE lp.stream_event_kind IS 'What happened in a stream (lp.stream_events.kind).';
ALTER TABLE lp.stream_events ALTER COLUMN kind TYPE lp.stream_event_kind USING kind::text::lp.stream_event_kind;
DROP TYPE lp.stream_event_kind_0024;
RESET ROLE;
