-- Undo 0032_monitoring (the repeatable views and functions of schema monitoring are dropped before this runs).
SET ROLE livepanty_owner;
DROP INDEX lp.payouts_paid_at_idx;
DROP INDEX lp.payments_completed_at_idx;
DROP TABLE lp.verify_runs;
DROP TABLE lp.metric_samples;
RESET ROLE;
DROP SCHEMA monitoring;
-- livepanty_owner keeps pg_read_all_stats: roles and their memberships are cluster-wide and may serve other
-- databases (as in 0001's rollback).
