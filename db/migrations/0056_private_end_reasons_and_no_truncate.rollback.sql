-- Undo 0056_private_end_reasons_and_no_truncate: the rewritten end reasons cannot be restored (the older
-- functions, applied again by the rollback, write the specific reasons for the streams they end).
SELECT 1;
