-- Undo 0031_kyc_gate (the repeatable functions that use these objects are dropped before this runs).
DELETE FROM lp.settings WHERE key = 'kyc.approval_valid_days';
SET ROLE livepanty_owner;
DROP TRIGGER kyc_verifications_sync_gate ON lp.kyc_verifications;
DROP TRIGGER kyc_verifications_end_approval ON lp.kyc_verifications;
DROP FUNCTION lp.kyc_verifications_sync_gate();
DROP FUNCTION lp.kyc_verifications_end_approval();
DROP FUNCTION lp.refresh_kyc_gate(uuid);
DROP FUNCTION lp.kyc_approval_end(timestamptz, timestamptz);
DROP INDEX lp.kyc_verifications_approved_idx;
ALTER TABLE lp.kyc_verifications DROP COLUMN approval_ended_at;
DROP INDEX lp.users_kyc_valid_until_idx;
ALTER TABLE lp.users DROP COLUMN kyc_valid_until;
RESET ROLE;
