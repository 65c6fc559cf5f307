-- Undo 0053_sanction_lifecycle: moot appeals are pending again (undecided, as the release before left them once
-- their sanction was lifted) and the type loses the value; the review job's index is what it was (the job of
-- the release before skips every revoked suspension).
UPDATE lp.sanction_appeals
   SET status = 'pending', decided_by = NULL, decided_by_label = NULL, decided_at = NULL, decision_reasons = NULL
 WHERE status = 'moot';
SET ROLE livepanty_owner;
ALTER TABLE lp.sanction_appeals DROP CONSTRAINT sanction_appeals_check;
DROP INDEX lp.sanction_appeals_pending_idx;
ALTER TABLE lp.sanction_appeals ALTER COLUMN status DROP DEFAULT;
ALTER TYPE lp.appeal_status RENAME TO appeal_status_0053;
CREATE TYPE lp.appeal_status AS ENUM ('pending', 'granted', 'denied');
COMMENT ON TYPE lp.appeal_status IS 'State of an appeal against a sanction (lp.sanction_appeals.status).';
ALTER TABLE lp.sanction_appeals ALTER COLUMN status TYPE lp.appeal_status USING status::text::lp.appeal_status;
ALTER TABLE lp.sanction_appeals ALTER COLUMN status SET DEFAULT 'pending',
    ADD CONSTRAINT sanction_appeals_check CHECK ((status = 'pending') = (decided_at IS NULL));
CREATE INDEX sanction_appeals_pending_idx ON lp.sanction_appeals (created_at) WHERE status = 'pending';
DROP TYPE lp.appeal_status_0053;
COMMENT ON TABLE lp.sanction_appeals IS 'Appeals against sanctions: one per sanction (UNIQUE sanction_id), by the sanctioned user within appeals.window_days of the sanction (api.appeal_sanction); decided by a moderator or admin other than the issuer (api.decide_appeal). A granted appeal revokes the sanction.';

DROP INDEX lp.user_sanctions_review_due_idx;
CREATE INDEX user_sanctions_review_due_idx ON lp.user_sanctions (ends_at)
    WHERE review_on_expiry AND expiry_handled_at IS NULL AND revoked_at IS NULL;
RESET ROLE;
