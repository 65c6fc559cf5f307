-- 0054: a payout processor claims a payout before it releases the money. api.mark_payout_paid re-checks the
-- gates (a payout_hold, a suspension or ban, a lapsed identity verification) when it is called on an approved
-- payout, so a processor that records the transfer after the money left could be refused with the money gone
-- (the ledger saying approved), and one that records it before sending could not record a transfer that then
-- failed (api.mark_payout_failed took only approved payouts). A new status, sending, between approved and paid
-- or failed: api.send_payout (a repeatable) checks the gates of the moment and moves the approved payout to
-- sending, stamped sending_at; a sending payout is then always recorded paid or failed, and can no longer be
-- rejected or cancelled. Nothing exists in status sending before this migration: no row changes.
-- The type is made anew rather than given a value with ALTER TYPE ... ADD VALUE (as 0053 did for
-- lp.appeal_status), so that the CHECK and the partial index below may name the new value in this transaction;
-- the CHECKs and the index that compare the column with an enum literal are made again around the change of
-- type, and the view over the column (a repeatable, re-created after the migrations) is dropped first.
SET ROLE livepanty_owner;

DROP VIEW IF EXISTS reporting.payouts;
DROP INDEX lp.payouts_status_idx;
ALTER TABLE lp.payouts DROP CONSTRAINT payouts_check, DROP CONSTRAINT payouts_check1,
    ALTER COLUMN status DROP DEFAULT;
ALTER TYPE lp.payout_status RENAME TO payout_status_0054;
CREATE TYPE lp.payout_status AS ENUM ('requested', 'approved', 'sending', 'rejected', 'paid', 'failed', 'cancelled');
COMMENT ON TYPE lp.payout_status IS 'State of a payout (lp.payouts.status): requested -> approved -> sending (migration 0054: claimed by the payout processor right before the transfer, api.send_payout) -> paid or failed; approved may also go straight to paid or failed, requested or approved to rejected, requested to cancelled.';
ALTER TABLE lp.payouts ALTER COLUMN status TYPE lp.payout_status USING status::text::lp.payout_status;
DROP TYPE lp.payout_status_0054;

ALTER TABLE lp.payouts ADD COLUMN sending_at timestamptz;
COMMENT ON COLUMN lp.payouts.sending_at IS 'When the payout processor claimed the payout to release its transfer (api.send_payout; status sending, then paid or failed). NULL for a payout never sent that way (migration 0054).';
ALTER TABLE lp.payouts ALTER COLUMN status SET DEFAULT 'requested',
    ADD CONSTRAINT payouts_check CHECK (status <> 'paid' OR paid_at IS NOT NULL),
    ADD CONSTRAINT payouts_check1 CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL),
    ADD CONSTRAINT payouts_sending_since CHECK (status <> 'sending' OR sending_at IS NOT NULL);
CREATE INDEX payouts_status_idx ON lp.payouts (status, created_at) WHERE status IN ('requested', 'approved', 'sending');

RESET ROLE;
