-- Undo 0019_stream_presence.
DELETE FROM lp.settings WHERE key IN ('streams.viewer_timeout_seconds', 'streams.counter_shards');
SET ROLE livepanty_owner;
DROP TYPE api.viewing;
ALTER TYPE api.stream DROP ATTRIBUTE current_viewers;
DROP INDEX lp.streams_listing_idx;
DROP INDEX lp.streams_category_listing_idx;
DROP INDEX lp.streams_host_idx;
CREATE INDEX streams_host_idx ON lp.streams (host_id, created_at DESC);
ALTER TABLE lp.streams DROP COLUMN listed_viewers;
DROP TABLE lp.performer_blocks;
DROP INDEX lp.stream_viewers_stream_user_idx;
ALTER TABLE lp.stream_viewers RESET (fillfactor);
DROP TABLE lp.stream_counters;
RESET ROLE;
