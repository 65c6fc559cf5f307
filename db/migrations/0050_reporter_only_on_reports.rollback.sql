-- Undo 0050_reporter_only_on_reports: nothing to undo in the schema. The reporters it cleared from automated
-- cases are not put back (their filings in lp.report_filings still name them); the older functions, applied again
-- by the rollback, set reporter_id on such cases again as reports merge into them.
SELECT 1;
