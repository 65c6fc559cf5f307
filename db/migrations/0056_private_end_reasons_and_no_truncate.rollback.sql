-- Undo 0056_private_end_reasons_and_no_truncate: TRUNCATE of the identity verification records is no longer
-- refused; the rewritten end reasons cannot be restored (the older functions, applied again by the rollback,
-- write the specific reasons for the streams they end).
SET ROLE livepanty_owner;
DROP TRIGGER kyc_aliases_no_truncate ON lp.kyc_aliases;
DROP TRIGGER kyc_verifications_no_truncate ON lp.kyc_verifications;
DROP FUNCTION lp.kyc_records_kept();
RESET ROLE;
