-- Undo 0064_report_rate_limit.
DELETE FROM lp.settings WHERE key = 'review.max_reports_per_hour';
