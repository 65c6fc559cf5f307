-- Undo 0058_abandon_erased_users_verifications: the verifications it abandoned get back the status it recorded
-- in their kyc.abandon audit rows (those rows stay: the trail is append-only). A verification of such an account
-- abandoned since by something else (none can be: nothing reopens or decides an abandoned one) is left alone.
UPDATE lp.kyc_verifications AS k
   SET status = (a.details ->> 'previous_status')::lp.kyc_status
  FROM lp.audit_logs AS a
 WHERE a.action = 'kyc.abandon' AND a.details ->> 'migration' = '0058'
   AND a.target_type = 'kyc_verification' AND a.target_id = k.id::text
   AND k.status = 'abandoned';
