-- Undo 0023_shows (the repeatable functions that use these objects are dropped before this runs).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.ledger WHERE reference_type = 'show') THEN
        RAISE EXCEPTION 'the ledger has show refunds: 0023 cannot be rolled back without losing them';
    END IF;
    IF EXISTS (SELECT 1 FROM lp.holds WHERE purpose::text = 'ticket_show') THEN
        RAISE EXCEPTION 'holds for ticket shows exist: 0023 cannot be rolled back without losing them';
    END IF;
END
$$;
DELETE FROM lp.settings WHERE key IN ('shows.min_rate', 'shows.max_rate', 'shows.answer_seconds', 'shows.prepay_minutes');
DELETE FROM lp.stream_events WHERE kind::text IN ('show_requested', 'show_opened', 'show_started', 'show_ended');
SET ROLE livepanty_owner;
ALTER TABLE lp.ledger
    DROP CONSTRAINT ledger_reference_type_check,
    ADD CONSTRAINT ledger_reference_type_check CHECK (reference_type IN (
        'payment', 'tip', 'hold', 'payout', 'adjustment', 'sweep'));
ALTER TYPE lp.stream_event_kind RENAME TO stream_event_kind_0023;
CREATE TYPE lp.stream_event_kind AS ENUM ('stream_started', 'stream_ended', 'tip', 'viewer_count', 'menu_item',
                                          'goal_started', 'goal_reached', 'goal_missed', 'goal_cancelled');
COMMENT ON TYPE lp.stream_event_kind IS 'What happened in a stream (lp.stream_events.kind).';
ALTER TABLE lp.stream_events ALTER COLUMN kind TYPE lp.stream_event_kind USING kind::text::lp.stream_event_kind;
DROP TYPE lp.stream_event_kind_0023;
DROP TABLE lp.show_participants;
DROP TABLE lp.shows;
DROP TABLE lp.show_prices;
ALTER TYPE lp.hold_purpose RENAME TO hold_purpose_0023;
CREATE TYPE lp.hold_purpose AS ENUM ('private_show', 'group_show', 'tip', 'other');
COMMENT ON TYPE lp.hold_purpose IS 'What a hold reserves tokens for (lp.holds.purpose).';
ALTER TABLE lp.holds ALTER COLUMN purpose TYPE lp.hold_purpose USING purpose::text::lp.hold_purpose;
DROP TYPE lp.hold_purpose_0023;
DROP TYPE lp.show_role;
DROP TYPE lp.show_status;
DROP TYPE lp.show_type;
RESET ROLE;
