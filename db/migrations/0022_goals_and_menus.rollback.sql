-- Undo 0022_goals_and_menus (the repeatable functions that use these objects are dropped before this runs).
-- Refuses while tokens wait in escrow for a goal: settle them first (livepanty-db jobs settle-goals).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.tips WHERE status = 'escrowed') THEN
        RAISE EXCEPTION 'tips are held in escrow for tip goals: settle them before rolling back 0022';
    END IF;
END
$$;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.ledger AS l JOIN lp.wallets AS w ON w.id = l.wallet_id WHERE w.system_code = 'goal_escrow') THEN
        RAISE EXCEPTION 'the goal_escrow wallet has ledger entries: 0022 cannot be rolled back without losing them';
    END IF;
END
$$;
DELETE FROM lp.wallet_shards WHERE wallet_id = (SELECT id FROM lp.wallets WHERE system_code = 'goal_escrow');
DELETE FROM lp.wallets WHERE system_code = 'goal_escrow';
DELETE FROM lp.settings WHERE key IN ('goals.max_per_stream', 'menus.max_items');
DELETE FROM lp.stream_events WHERE kind::text IN ('menu_item', 'goal_started', 'goal_reached', 'goal_missed', 'goal_cancelled');
SET ROLE livepanty_owner;
ALTER TYPE lp.stream_event_kind RENAME TO stream_event_kind_0022;
CREATE TYPE lp.stream_event_kind AS ENUM ('stream_started', 'stream_ended', 'tip', 'viewer_count');
COMMENT ON TYPE lp.stream_event_kind IS 'What happened in a stream (lp.stream_events.kind).';
ALTER TABLE lp.stream_events ALTER COLUMN kind TYPE lp.stream_event_kind USING kind::text::lp.stream_event_kind;
DROP TYPE lp.stream_event_kind_0022;
DROP INDEX lp.tips_escrowed_idx;
ALTER TABLE lp.tips
    DROP CONSTRAINT tips_status_check,
    ADD CONSTRAINT tips_status_check CHECK (status IN ('completed', 'refunded')),
    DROP COLUMN settlement_id,
    DROP COLUMN menu_item_id,
    DROP COLUMN goal_id;
DROP TABLE lp.tip_goal_progress;
DROP TABLE lp.tip_goals;
DROP TYPE lp.goal_status;
DROP TABLE lp.tip_menu_items;
RESET ROLE;
