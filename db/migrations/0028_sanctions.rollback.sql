-- Undo 0028_sanctions (the repeatable functions that use these objects are dropped before this runs).
-- Refuses while a sanction of a type added by 0028 exists: deleting it would silently lift it.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lp.user_sanctions
                WHERE sanction_type::text IN ('tip_block', 'stream_block', 'payout_hold')) THEN
        RAISE EXCEPTION 'sanctions of type tip_block, stream_block or payout_hold exist: 0028 cannot be rolled back without lifting them';
    END IF;
END
$$;
DELETE FROM lp.settings WHERE key = 'appeals.window_days';
SET ROLE livepanty_owner;
DROP TABLE lp.sanction_appeals;
DROP INDEX lp.user_sanctions_review_due_idx;
ALTER TABLE lp.user_sanctions
    DROP CONSTRAINT user_sanctions_review_on_expiry_check,
    DROP COLUMN review_on_expiry,
    DROP COLUMN expiry_handled_at,
    DROP COLUMN expiry_case_id;
COMMENT ON TABLE lp.user_sanctions IS 'Warnings, mutes, suspensions and bans. An active suspension or ban blocks login, tipping, payouts (lp.active_sanction).';
DROP TYPE lp.appeal_status;
-- The CHECK that compares the column with an enum literal is re-created around the change of type.
ALTER TABLE lp.user_sanctions DROP CONSTRAINT user_sanctions_check1;
ALTER TYPE lp.sanction_type RENAME TO sanction_type_0028;
CREATE TYPE lp.sanction_type AS ENUM ('warning', 'mute', 'suspension', 'ban');
COMMENT ON TYPE lp.sanction_type IS 'Kind of sanction (lp.user_sanctions.sanction_type).';
ALTER TABLE lp.user_sanctions ALTER COLUMN sanction_type TYPE lp.sanction_type USING sanction_type::text::lp.sanction_type;
ALTER TABLE lp.user_sanctions ADD CONSTRAINT user_sanctions_check1 CHECK (sanction_type <> 'suspension' OR ends_at IS NOT NULL);
DROP TYPE lp.sanction_type_0028;
RESET ROLE;
