-- 0053: what hangs on a sanction once it ends or is lifted.
-- 1. A suspension issued with review_on_expiry goes back to review once it ran its course, even when it was
--    revoked after its end (api.revoke_sanction allows that; a granted appeal of an ended sanction does it):
--    api.expire_sanctions used to skip every revoked suspension, so a revoke between the end and the job's next
--    run cancelled the review. Only a suspension lifted early (revoked before its end) is not reviewed now; the
--    job's index follows its new condition. Suspensions missed that way are reviewed at the job's next run.
-- 2. An appeal still pending when its sanction is lifted (api.revoke_sanction, a dismissal lifting an automated
--    sanction in api.resolve_case) is closed as moot (new lp.appeal_status value): it used to stay in the
--    pending queue for ever and could still be decided, even denied, about a sanction no longer in force.
--    Existing ones are closed here, as of when their sanction was lifted, by whom lifted it, with the lift's
--    reason (a revoked sanction always has one).
-- The type is made anew rather than given a value with ALTER TYPE ... ADD VALUE, so that the closing below may
-- use the new value in this transaction (the CHECK and the index that compare the column with an enum literal
-- are made again around the change of type).
SET ROLE livepanty_owner;

DROP INDEX lp.user_sanctions_review_due_idx;
CREATE INDEX user_sanctions_review_due_idx ON lp.user_sanctions (ends_at)
    WHERE review_on_expiry AND expiry_handled_at IS NULL AND (revoked_at IS NULL OR revoked_at >= ends_at);

ALTER TABLE lp.sanction_appeals DROP CONSTRAINT sanction_appeals_check;
DROP INDEX lp.sanction_appeals_pending_idx;
ALTER TABLE lp.sanction_appeals ALTER COLUMN status DROP DEFAULT;
ALTER TYPE lp.appeal_status RENAME TO appeal_status_0053;
CREATE TYPE lp.appeal_status AS ENUM ('pending', 'granted', 'denied', 'moot');
COMMENT ON TYPE lp.appeal_status IS 'State of an appeal against a sanction (lp.sanction_appeals.status): pending, decided (granted, denied: api.decide_appeal), or moot (migration 0053): closed undecided because its sanction was lifted while it was pending.';
ALTER TABLE lp.sanction_appeals ALTER COLUMN status TYPE lp.appeal_status USING status::text::lp.appeal_status;
ALTER TABLE lp.sanction_appeals ALTER COLUMN status SET DEFAULT 'pending',
    ADD CONSTRAINT sanction_appeals_check CHECK ((status = 'pending') = (decided_at IS NULL));
CREATE INDEX sanction_appeals_pending_idx ON lp.sanction_appeals (created_at) WHERE status = 'pending';
DROP TYPE lp.appeal_status_0053;
COMMENT ON TABLE lp.sanction_appeals IS 'Appeals against sanctions: one per sanction (UNIQUE sanction_id), by the sanctioned user within appeals.window_days of the sanction (api.appeal_sanction); decided by a moderator or admin other than the issuer (api.decide_appeal). A granted appeal revokes the sanction. An appeal pending when its sanction is lifted otherwise is closed as moot (lp.moot_appeal: decided_by the one who lifted it, decision_reasons why).';

RESET ROLE;

-- As the migrating superuser (row level security is forced on lp.sanction_appeals; the policies are
-- repeatables, applied after the migrations).
UPDATE lp.sanction_appeals AS a
   SET status = 'moot', decided_by = s.revoked_by, decided_at = s.revoked_at,
       decision_reasons = left('The sanction was lifted: ' || s.revoke_reason, 2000)
  FROM lp.user_sanctions AS s
 WHERE s.id = a.sanction_id AND a.status = 'pending' AND s.revoked_at IS NOT NULL;
