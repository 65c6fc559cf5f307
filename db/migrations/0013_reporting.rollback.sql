-- Undo 0013_reporting. The repeatables (the reporting views among them) are dropped before this runs.
DROP SCHEMA reporting CASCADE;
COMMENT ON ROLE livepanty_readonly IS 'Reporting role: SELECT on every table except secret columns, no writers.';

SET ROLE livepanty_owner;
GRANT USAGE ON SCHEMA lp TO livepanty_readonly;
DROP TRIGGER kyc_verifications_label_staff ON lp.kyc_verifications;
DROP TRIGGER payouts_label_staff ON lp.payouts;
DROP TRIGGER reports_label_staff ON lp.reports;
DROP TRIGGER user_sanctions_label_staff ON lp.user_sanctions;
DROP TRIGGER adjustments_label_staff ON lp.adjustments;
ALTER TABLE lp.kyc_verifications
    DROP COLUMN reviewed_by_label;
ALTER TABLE lp.payouts
    DROP COLUMN reviewed_by_label;
ALTER TABLE lp.reports
    DROP COLUMN assigned_to_label,
    DROP COLUMN resolved_by_label;
ALTER TABLE lp.user_sanctions
    DROP COLUMN issued_by_label,
    DROP COLUMN revoked_by_label;
ALTER TABLE lp.adjustments
    DROP COLUMN created_by_label;
DROP FUNCTION lp.label_staff();
DROP FUNCTION lp.staff_label(uuid);
RESET ROLE;
