-- Undo 0054_payout_sending: a payout being sent is approved again (the release before has no sending: its
-- api.mark_payout_paid, with the gates, or api.mark_payout_failed settles it; an admin may reject it again, so
-- check with the payment provider whether its transfer left before anything else), the column and the type's
-- value go. The audit rows payout.sending stay (the trail is append-only).
UPDATE lp.payouts SET status = 'approved' WHERE status = 'sending';
SET ROLE livepanty_owner;
DROP VIEW IF EXISTS reporting.payouts;
DROP INDEX lp.payouts_status_idx;
ALTER TABLE lp.payouts DROP CONSTRAINT payouts_sending_since, DROP CONSTRAINT payouts_check,
    DROP CONSTRAINT payouts_check1, ALTER COLUMN status DROP DEFAULT;
ALTER TABLE lp.payouts DROP COLUMN sending_at;
ALTER TYPE lp.payout_status RENAME TO payout_status_0054;
CREATE TYPE lp.payout_status AS ENUM ('requested', 'approved', 'rejected', 'paid', 'failed', 'cancelled');
COMMENT ON TYPE lp.payout_status IS 'State of a payout (lp.payouts.status).';
ALTER TABLE lp.payouts ALTER COLUMN status TYPE lp.payout_status USING status::text::lp.payout_status;
DROP TYPE lp.payout_status_0054;
ALTER TABLE lp.payouts ALTER COLUMN status SET DEFAULT 'requested',
    ADD CONSTRAINT payouts_check CHECK (status <> 'paid' OR paid_at IS NOT NULL),
    ADD CONSTRAINT payouts_check1 CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL);
CREATE INDEX payouts_status_idx ON lp.payouts (status, created_at) WHERE status IN ('requested', 'approved');
RESET ROLE;
