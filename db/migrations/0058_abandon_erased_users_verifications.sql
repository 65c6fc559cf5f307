-- 0058: the open identity verifications of accounts deleted or erased before this release end as abandoned.
-- Since this release an erasure (lp.erase_personal_data) and a deletion (api.delete_user) abandon the account's
-- open verifications (lp.abandon_open_kyc): an admin could otherwise approve one from the review queue, or a
-- provider's webhook decide it and write a date of birth into the record of a person the platform was asked to
-- forget. Accounts deleted or erased by an earlier release kept theirs open; this closes them the same way.
-- Each one is audited (kyc.abandon, by the system: no actor) with the status it had, which the rollback reads.
-- As the migrating superuser (row level security is forced on lp.kyc_verifications).
WITH abandoned AS (
    UPDATE lp.kyc_verifications AS k
       SET status = 'abandoned'
      FROM lp.kyc_verifications AS before
     WHERE before.id = k.id
       AND k.status IN ('started', 'submitted', 'in_review', 'resubmission_requested')
       AND (EXISTS (SELECT 1 FROM lp.users AS u WHERE u.id = k.user_id AND u.deleted_at IS NOT NULL)
            OR EXISTS (SELECT 1 FROM lp.erasures AS e WHERE e.user_id = k.user_id))
    RETURNING k.id, k.user_id, before.status
)
INSERT INTO lp.audit_logs (actor_id, actor_role, action, target_type, target_id, details)
SELECT NULL, NULL, 'kyc.abandon', 'kyc_verification', a.id::text,
       jsonb_build_object('migration', '0058', 'user_id', a.user_id, 'previous_status', a.status::text,
                          'reason', 'the account was deleted or erased')
  FROM abandoned AS a;
